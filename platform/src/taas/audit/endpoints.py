"""HTTP API over the audit trail: /v1/audit (a tenant's own trail is served by the tenants
domain, at /v1/tenants/{tenant}/audit)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from taas.audit.repository import AuditRepository
from taas.audit.service import verify
from taas.kit.errors import Forbidden
from taas.kit.problems import problems
from taas.kit.scope import Scope
from taas.kit.web import CurrentPrincipal, DbSession

router = APIRouter(tags=["audit"], responses=problems(400))


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: dt.datetime
    actor: str
    action: str
    tenant_id: uuid.UUID | None
    request_id: str | None
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_after: int | None


class ChainReportOut(BaseModel):
    ok: bool
    events: int
    problems: list[str]
    anchored: bool = Field(
        description="Whether the chain is checked against signed checkpoints kept outside "
        "the database (false when no checkpoint key is configured)."
    )
    checkpoints: int = Field(description="Checkpoints the chain was compared with.")
    anchored_seq: int | None = Field(
        description="The newest event a checkpoint vouches for; later events are protected "
        "by the hash chain alone until the next checkpoint."
    )


@dataclass(frozen=True)
class AuditWindow:
    """Which page of a trail to read: the events after ``after`` (a seq), ``limit`` of them."""

    after: int
    limit: int

    def page(self, rows: list[Any]) -> AuditPage:
        """The page these rows (read for this window) make."""
        return AuditPage(
            items=[AuditEventOut.model_validate(row) for row in rows],
            next_after=rows[-1].seq if len(rows) == self.limit else None,
        )


def _audit_window(
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditWindow:
    return AuditWindow(after, limit)


AuditQuery = Annotated[AuditWindow, Depends(_audit_window)]


@router.get("/v1/audit", response_model=AuditPage, responses=problems(401, 403, 422))
def list_audit(session: DbSession, principal: CurrentPrincipal, window: AuditQuery) -> AuditPage:
    """The whole audit trail (platform operators and auditors)."""
    if not (principal.is_operator or principal.is_auditor):
        raise Forbidden("only platform operators and auditors may read the whole audit trail")
    scope = Scope.platform(principal.subject)
    rows = AuditRepository(session).page(scope, after_seq=window.after, limit=window.limit)
    return window.page(rows)


@router.get("/v1/audit/verify", response_model=ChainReportOut, responses=problems(401, 403, 503))
def verify_audit(session: DbSession, principal: CurrentPrincipal) -> ChainReportOut:
    """Recompute the hash chain and compare it with its signed checkpoints; ``ok`` is false
    if any event was altered or removed, or the chain was rewritten or truncated since a
    checkpoint."""
    if not (principal.is_operator or principal.is_auditor):
        raise Forbidden("only platform operators and auditors may verify the audit trail")
    report, anchored = verify(session)
    return ChainReportOut(
        ok=report.ok,
        events=report.events,
        problems=report.problems,
        anchored=anchored,
        checkpoints=report.checkpoints,
        anchored_seq=report.anchored_seq,
    )
