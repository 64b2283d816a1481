"""Idempotency keys: the same key from the same caller does the same thing once."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from taas.kit.db import Base
from taas.kit.errors import Unprocessable


class IdempotencyRecord(Base):
    """The first response given for (caller, key)."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(
        self, principal: str, key: str, scope: str, body_hash: str
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for this request; return the earlier record if it was claimed before.

        The insert waits on a concurrent claim of the same key, so two racing duplicates
        never both proceed.
        """
        inserted = self.session.execute(
            insert(IdempotencyRecord)
            .values(principal=principal, key=key, scope=scope, request_hash=body_hash)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        ).first()
        if inserted is not None:
            return None
        earlier = self.session.scalars(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
            .with_for_update()
        ).one()
        if earlier.scope != scope or earlier.request_hash != body_hash:
            raise Unprocessable(
                "this Idempotency-Key was already used for a different request",
                hint="use a new key for a new request",
            )
        return earlier

    def remember(self, principal: str, key: str, response: dict[str, Any]) -> None:
        """Keep the first response for (caller, key); a retry answers it again."""
        record = self.session.get(IdempotencyRecord, (principal, key))
        if record is not None:
            record.response = response


@dataclass
class Once:
    """One request's idempotency: the first answer to the same (caller, key), if there was
    one, and how to keep this request's answer for the retries to come."""

    store: IdempotencyStore
    principal: str
    key: str | None
    earlier: dict[str, Any] | None = None

    def keep(self, response: dict[str, Any]) -> None:
        if self.key:
            self.store.remember(self.principal, self.key, response)


def once(session: Session, principal: str, key: str | None, scope: str, body: Any) -> Once:
    """Claim ``key`` for this request (nothing to claim without a key). ``earlier`` is
    the answer given the first time, when this is a retry; a key reused for another
    request is refused (422)."""
    store = IdempotencyStore(session)
    if not key:
        return Once(store, principal, None)
    record = store.claim(principal, key, scope, request_hash(body))
    return Once(store, principal, key, record.response if record is not None else None)
