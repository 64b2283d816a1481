"""What a domain service acting for a caller is built from: one session, one caller, one request."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from taas.kit.auth import Principal
from taas.kit.idempotency import Once, once


class CallerService:
    """A domain service acting for ``principal`` in ``session``'s transaction, which whoever
    built it (an endpoint, a task) commits; ``request_id`` ties its audit entries to the
    request, ``None`` outside one."""

    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        self.session = session
        self.principal = principal
        self.request_id = request_id

    def once(self, idempotency_key: str | None, scope: str, body: Any) -> Once:
        """This caller's idempotency for ``body`` (JSON) under ``scope`` (``kit.idempotency``)."""
        return once(self.session, self.principal.name, idempotency_key, scope, body)
