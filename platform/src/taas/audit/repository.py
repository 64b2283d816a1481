"""All audit queries: append under a lock, read pages, walk the chain.

Pages take the reader's :class:`~taas.kit.scope.Scope`: a bank reads its tenant's events
only (never the platform's own, which have no tenant). Walking the chain and its head are
for verification, which needs every event; only operators and auditors reach them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from taas.audit.checkpoints import Checkpoint
from taas.audit.models import AuditEvent, AuditHead
from taas.kit.scope import Scope

GENESIS = "0" * 64
CHAIN = Scope.platform("taas:audit-chain")  # verifying reads every event
APPEND_LOCK = 7_261_001  # pg_advisory_xact_lock key serialising appends


def event_hash(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor: str,
    action: str,
    tenant_id: uuid.UUID | None,
    request_id: str | None,
    outcome: str,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of the event and the previous hash."""
    canonical = json.dumps(
        {
            "seq": seq,
            "occurred_at": occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "tenant_id": str(tenant_id) if tenant_id else None,
            "request_id": request_id,
            "outcome": outcome,
            "detail": detail,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hash_of(event: AuditEvent) -> str:
    return event_hash(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        tenant_id=event.tenant_id,
        request_id=event.request_id,
        outcome=event.outcome,
        detail=event.detail,
        prev_hash=event.prev_hash,
    )


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        tenant_id: uuid.UUID | None = None,
        request_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Add the next event to the chain; appends are serialised by an advisory lock."""
        self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
        head = self.session.get(AuditHead, 1)
        seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
        event = AuditEvent(
            seq=seq,
            occurred_at=dt.datetime.now(dt.UTC),
            actor=actor,
            action=action,
            tenant_id=tenant_id,
            request_id=request_id,
            outcome=outcome,
            detail=json.loads(json.dumps(detail or {}, default=str)),
            prev_hash=prev_hash,
        )
        event.hash = _hash_of(event)
        self.session.add(event)
        if head is None:
            self.session.add(AuditHead(id=1, seq=seq, hash=event.hash))
        else:
            head.seq, head.hash = seq, event.hash
        self.session.flush()
        return event

    def page(self, scope: Scope, *, after_seq: int, limit: int) -> list[AuditEvent]:
        """Events in ``scope`` after ``after_seq``, oldest first."""
        query = scope.apply(select(AuditEvent).where(AuditEvent.seq > after_seq), AuditEvent)
        return list(self.session.scalars(query.order_by(AuditEvent.seq).limit(limit)))

    def walk(self, batch: int = 1000) -> Iterator[AuditEvent]:
        last = 0
        while True:
            rows = self.page(CHAIN, after_seq=last, limit=batch)
            if not rows:
                return
            yield from rows
            last = rows[-1].seq

    def head(self) -> AuditHead | None:
        return self.session.get(AuditHead, 1)

    def quiet_head(self, lock_timeout_ms: int) -> tuple[int, str] | None:
        """(seq, hash) of the head, read under the append lock (waiting at most
        ``lock_timeout_ms``; OperationalError past it). The lock is held until the
        transaction ends: end it at once. Whoever holds the lock (a migration, an operator
        repairing the chain) thereby also pauses checkpoints."""
        self.session.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
        self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
        head = self.head()
        return (head.seq, head.hash) if head else None


class ChainSource(Protocol):
    """What verifying reads: the events in order, and the head."""

    def walk(self) -> Iterator[AuditEvent]: ...

    def head(self) -> AuditHead | None: ...


@dataclass(frozen=True)
class ChainReport:
    """Result of walking the audit chain (and comparing it with its checkpoints)."""

    ok: bool
    events: int
    problems: list[str]
    checkpoints: int = 0
    anchored_seq: int | None = None  # the newest event a checkpoint vouches for


def verify_chain(
    repo: ChainSource,
    *,
    checkpoints: Sequence[Checkpoint] = (),
    max_problems: int = 50,
) -> ChainReport:
    """Recompute every hash and link; report altered, removed or reordered events.

    Each checkpoint must match the event it names (a chain rewritten after it and rehashed
    does not), and the newest checkpointed event must still exist (the newest events
    deleted and the head moved back). Load the checkpoints before walking: the chain only
    grows, so every checkpoint then names an event the walk will reach.
    """
    problems: list[str] = []
    anchors: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        anchors.setdefault(checkpoint.seq, []).append(checkpoint)
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for event in repo.walk():
        count += 1
        if event.seq != expected_seq:
            problems.append(f"events {expected_seq}..{event.seq - 1} are missing")
        if event.prev_hash != prev_hash:
            problems.append(f"event {event.seq} does not link to the event before it")
        if _hash_of(event) != event.hash:
            problems.append(f"event {event.seq} was altered (its hash does not match)")
        for checkpoint in anchors.get(event.seq, ()):
            if checkpoint.hash != event.hash:
                problems.append(
                    f"event {event.seq} differs from the checkpoint written at "
                    f"{checkpoint.written_at.isoformat(timespec='seconds')}: the chain up to "
                    "it was rewritten and rehashed"
                )
        expected_seq, prev_hash = event.seq + 1, event.hash
        if len(problems) >= max_problems:
            break
    last = expected_seq - 1
    head = repo.head()
    if head is not None and (head.seq != last or head.hash != prev_hash):
        problems.append(
            f"the chain ends at event {last} but the head records event {head.seq}: "
            "the newest events were removed or the head was altered"
        )
    if head is None and count:
        problems.append("the chain head is missing")
    newest = max(anchors, default=None)
    if newest is not None and newest > last and len(problems) < max_problems:
        problems.append(
            f"a checkpoint records event {newest} but the chain ends at event {last}: "
            "the newest events were deleted and the head moved back"
        )
    return ChainReport(
        ok=not problems,
        events=count,
        problems=problems,
        checkpoints=len(checkpoints),
        anchored_seq=newest,
    )
