"""``GET /t/{tenant}/openapi.json``: a bank's API reference, to a token of that bank only."""

from __future__ import annotations

import logging
import os

import psycopg

from taas.gateway.asgi import JSON_HEADERS, Scope, Send, send_problem
from taas.gateway.authorization import Authorizer
from taas.gateway.documents import Documents, routed_versions
from taas.gateway.errors import Rejection, documents_unavailable, not_ready
from taas.gateway.proxy import read_incoming, sane_request_id
from taas.gateway.routes import RouteTable

log = logging.getLogger("taas.gateway")


class ApiReference:
    """Serves the OpenAPI document of the modules a bank subscribes to."""

    def __init__(self, routes: RouteTable, documents: Documents, authorizer: Authorizer) -> None:
        self.routes = routes
        self.documents = documents
        self.authorizer = authorizer

    async def __call__(self, scope: Scope, send: Send, slug: str) -> None:
        """The bank's API reference, to a token of that bank only."""
        incoming = read_incoming(scope["headers"])
        request_id = sane_request_id(incoming.request_id) or os.urandom(16).hex()
        if scope["method"] not in ("GET", "HEAD"):
            not_allowed = Rejection(
                405,
                "method-not-allowed",
                "the API reference can only be read",
                hint=f"GET /t/{slug}/openapi.json",
            )
            await send_problem(send, not_allowed, request_id)
            return
        try:
            snapshot = self.routes.snapshot
            if not snapshot.ready:
                raise not_ready()
            _, tenant = await self.authorizer.bank_of(incoming, slug, snapshot)
            body = await self.documents.document(tenant.id, slug, routed_versions(snapshot, slug))
        except Rejection as rejection:
            await send_problem(send, rejection, request_id)
            return
        except (psycopg.Error, OSError):
            log.warning("API reference of %s not read", slug, exc_info=True)
            await send_problem(send, documents_unavailable(), request_id)
            return
        headers = [
            *JSON_HEADERS,
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"private, no-cache"),
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
