"""One module call as it passes through the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from taas.gateway.asgi import Receive, Scope, Send
from taas.gateway.proxy import Incoming
from taas.gateway.routes import Route, Tenant


class ClientGone(Exception):
    """The caller disconnected while its request body was being forwarded."""


@dataclass(slots=True)
class Call:
    """One module call: what came in, and what happened (for metering and its span)."""

    scope: Scope
    receive: Receive
    send: Send
    incoming: Incoming
    request_id: str
    tenant_slug: str
    module: str
    rest: str
    traceparent: str | None = None
    status: int = 500
    bytes_in: int = 0
    bytes_out: int = 0
    started: bool = False
    tenant: Tenant | None = None
    route: Route | None = None
    refusal: str | None = None  # why the gateway answered itself (None: the module answered)
