"""``/_gateway/healthz``, ``/_gateway/readyz`` and ``/_gateway/routes/version``: what the
gateway says about itself; any other path outside ``/t/`` is 404."""

from __future__ import annotations

import uuid

from taas.gateway.asgi import Send, send_json, send_problem
from taas.gateway.errors import no_such_path, not_ready
from taas.gateway.routes import RouteTable


async def serve_status(send: Send, path: bytes, routes: RouteTable) -> None:
    """Answer one of the gateway's own paths."""
    snapshot = routes.snapshot
    if path == b"/_gateway/healthz":
        await send_json(send, 200, {"status": "ok"})
    elif path == b"/_gateway/readyz" and snapshot.ready:
        await send_json(send, 200, {"status": "ready", "generation": snapshot.generation})
    elif path == b"/_gateway/readyz":
        await send_problem(send, not_ready(), uuid.uuid4().hex)
    elif path == b"/_gateway/routes/version":
        document = {
            "generation": snapshot.generation,
            "loaded_at": snapshot.loaded_at,
            "tenants": len(snapshot.tenants),
            "routes": len(snapshot.routes),
            "listening": routes.listening,
            "synced": routes.synced,
            "full_reloads": routes.full_reloads,
            "incremental_updates": routes.incremental_updates,
        }
        await send_json(send, 200, document)
    else:
        await send_problem(send, no_such_path(), uuid.uuid4().hex)
