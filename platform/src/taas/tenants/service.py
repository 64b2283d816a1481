"""Tenant lifecycle: the rules of who may do what, and which operation each change starts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.approvals.schemas import ApprovalAction
from taas.approvals.service import ApprovalService, ApprovedAction, Executed, register
from taas.audit.models import AuditEvent
from taas.audit.repository import AuditRepository
from taas.integrations.systems import systems
from taas.kit.auth import Principal
from taas.kit.db import new_session
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.kit.scope import Scope
from taas.kit.service import CallerService
from taas.kit.settings import app_settings
from taas.kit.telemetry import bind_tenant, current_traceparent
from taas.operations.models import Operation
from taas.operations.repository import OperationRepository
from taas.tenants import reconciler
from taas.tenants.models import Tenant
from taas.tenants.plans import TenantOperation, retain_until, tenant_lane
from taas.tenants.repository import TenantRepository
from taas.tenants.schemas import (
    OffboardRequest,
    OperationOut,
    StatusChange,
    TenantAccepted,
    TenantCreate,
    TenantOut,
    TenantPage,
    TenantUpdate,
)
from taas.tenants.states import TenantStatus, check_transition

MAX_PAGE = 200
# Tiers with their own realm and database: a tenant may move between them in place.
ISOLATED_TIERS = {"silo", "dedicated"}


def require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("only platform operators may change tenants")


def require_reader(principal: Principal) -> None:
    if not (principal.is_operator or principal.is_auditor or principal.is_bank_admin):
        raise Forbidden("this role may not read tenants")


class TenantService(CallerService):
    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        super().__init__(session, principal, request_id)
        self.tenants = TenantRepository(session)
        self.operations = OperationRepository(session)
        self.audit = AuditRepository(session)

    # ------------------------------------------------------------------ reading

    @cached_property
    def scope(self) -> Scope:
        """The tenants this caller may read (every read below goes through it)."""
        return self.tenants.scope_of(self.principal)

    def resolve(self, ref: str) -> uuid.UUID:
        """The id of the tenant ``ref`` (an id or a slug) names, if this caller may see it.

        A tenant of another bank answers exactly as a missing one: the same 404 whose
        detail echoes ``ref`` as sent, so a bank learns neither that it exists nor its id.
        Callers who may not read tenants at all get 403 whatever ``ref`` names.
        """
        require_reader(self.principal)
        try:
            tenant = self.tenants.get(self.scope, uuid.UUID(ref))
        except ValueError:
            tenant = self.tenants.by_slug(self.scope, ref)
        if tenant is None:
            raise NotFound(f"tenant {ref!r} not found")
        return tenant.id

    def visible(self, tenant_id: uuid.UUID) -> Tenant:
        """The tenant, if this caller may see it; otherwise NotFound (no existence leak)."""
        require_reader(self.principal)
        tenant = self.tenants.get(self.scope, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {str(tenant_id)!r} not found")
        bind_tenant(tenant.id)
        return tenant

    def page(
        self,
        *,
        after: str | None,
        limit: int,
        statuses: Sequence[TenantStatus],
        tier: str | None,
        region: str | None,
        search: str | None,
    ) -> TenantPage:
        require_reader(self.principal)
        limit = max(1, min(limit, MAX_PAGE))
        rows = self.tenants.page(
            self.scope,
            after=after,
            limit=limit + 1,
            statuses=statuses,
            tier=tier,
            region=region,
            search=search,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return TenantPage(
            items=[TenantOut.model_validate(row) for row in rows],
            next_cursor=rows[-1].slug if more and rows else None,
        )

    def operations_of(self, tenant_id: uuid.UUID, limit: int) -> list[OperationOut]:
        tenant = self.visible(tenant_id)
        limit = max(1, min(limit, MAX_PAGE))
        return [
            OperationOut.model_validate(op)
            for op in self.operations.recent(self.scope.narrow(tenant.id), limit=limit)
        ]

    def audit_of(self, tenant_id: uuid.UUID, *, after_seq: int, limit: int) -> list[AuditEvent]:
        """The audit events of one tenant this caller may see, after ``after_seq``."""
        tenant = self.visible(tenant_id)
        return self.audit.page(self.scope.narrow(tenant.id), after_seq=after_seq, limit=limit)

    # ------------------------------------------------------------------ changing

    def create(self, request: TenantCreate, idempotency_key: str | None) -> TenantAccepted:
        require_operator(self.principal)
        first = self.once(idempotency_key, "tenants.create", request.model_dump(mode="json"))
        if first.earlier is not None:
            return TenantAccepted.model_validate(first.earlier)
        if self.tenants.slug_taken(request.slug):
            raise Conflict(
                f"a tenant with slug {request.slug!r} already exists",
                hint="choose another slug, or send the same Idempotency-Key to retry a create",
            )
        tenant = Tenant(
            slug=request.slug,
            display_name=request.display_name,
            tier=request.tier.value,
            region=request.region,
            contacts=[c.model_dump(mode="json") for c in request.contacts],
            quotas=request.quotas.model_dump(),
            object_lock=request.object_lock,
            status=TenantStatus.REQUESTED,
        )
        try:
            with self.session.begin_nested():
                self.tenants.add(tenant)
        except IntegrityError as exc:
            raise Conflict(f"a tenant with slug {request.slug!r} already exists") from exc
        bind_tenant(tenant.id)
        operation = self._start(tenant, TenantOperation.PROVISION)
        self._audit("tenant.create", tenant, request.model_dump(mode="json"))
        accepted = self._accepted(tenant, operation)
        first.keep(accepted.model_dump(mode="json"))
        return accepted

    def update(self, tenant_id: uuid.UUID, request: TenantUpdate) -> TenantAccepted:
        require_operator(self.principal)
        tenant = self._locked(tenant_id)
        if tenant.status not in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED):
            raise Conflict(
                f"tenant is {tenant.status}; it can be changed when active or suspended",
                hint="wait for the current operation to finish",
            )
        changes = request.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        needs_operation = False
        if "tier" in changes and changes["tier"] != tenant.tier:
            if {changes["tier"], tenant.tier} != ISOLATED_TIERS:
                raise Conflict(
                    f"moving a tenant from {tenant.tier} to {changes['tier']} (in or out of the "
                    "shared pool tier) is not supported yet: its identity space and data would "
                    "have to move",
                    hint="silo and dedicated tenants can switch between each other; "
                    "for pool, offboard with retention and re-provision",
                )
            tenant.tier = changes["tier"]
            needs_operation = True
        if "display_name" in changes:
            tenant.display_name = changes["display_name"]
        if "contacts" in changes:
            tenant.contacts = changes["contacts"]
        if "quotas" in changes and changes["quotas"] != tenant.quotas:
            tenant.quotas = changes["quotas"]
            needs_operation = True
        operation = self._start(tenant, TenantOperation.UPDATE) if needs_operation else None
        self._audit("tenant.update", tenant, changes)
        return self._accepted(tenant, operation)

    def suspend(self, tenant_id: uuid.UUID, request: StatusChange) -> TenantAccepted:
        return self._move(
            tenant_id, TenantStatus.SUSPENDED, TenantOperation.SUSPEND, request.reason
        )

    def resume(self, tenant_id: uuid.UUID, request: StatusChange) -> TenantAccepted:
        return self._move(tenant_id, TenantStatus.ACTIVE, TenantOperation.RESUME, request.reason)

    def reconcile(self, tenant_id: uuid.UUID) -> Tenant:
        """Compare and repair this tenant now (the reconciler also runs periodically)."""
        require_operator(self.principal)
        tenant = self._locked(tenant_id)
        reconciler.reconcile_tenant(self.session, systems(), tenant)
        return tenant

    def retry(self, tenant_id: uuid.UUID) -> TenantAccepted:
        """Run provisioning again for a failed tenant."""
        return self._move(tenant_id, TenantStatus.PROVISIONING, TenantOperation.PROVISION, "retry")

    def offboard(
        self, tenant_id: uuid.UUID, request: OffboardRequest, idempotency_key: str | None = None
    ) -> TenantAccepted:
        """Offboard now, or, when it keeps data for less than the approval threshold (data
        destroyed soon), record a request that runs once a second operator approves it."""
        days = request.retention.keep_data_days
        threshold = app_settings().offboard_approval_below_days
        if days >= threshold:
            return self._offboard_now(tenant_id, request)
        require_operator(self.principal)
        tenant = self._locked(tenant_id)
        check_transition(tenant.status, TenantStatus.OFFBOARDING)  # refuse early what cannot run
        approval = ApprovalService(self.session, self.principal, self.request_id).request(
            ApprovalAction.TENANT_OFFBOARD,
            str(tenant.id),
            summary=f"offboard tenant {tenant.slug}, keeping its data {days} days "
            f"(fewer than {threshold}: needs a second operator)",
            params=request.model_dump(mode="json"),
            reason=request.reason,
            idempotency_key=idempotency_key,
        )
        self.session.refresh(tenant)
        return TenantAccepted(
            tenant=TenantOut.model_validate(tenant), operation=None, approval=approval
        )

    def _offboard_now(
        self, tenant_id: uuid.UUID, request: OffboardRequest, approval: uuid.UUID | None = None
    ) -> TenantAccepted:
        until = retain_until(request.retention.keep_data_days)
        params: dict[str, Any] = {
            "retain_until": until,
            "keep_data_days": request.retention.keep_data_days,
        }
        if approval is not None:
            params["approval"] = str(approval)
        return self._move(
            tenant_id,
            TenantStatus.OFFBOARDING,
            TenantOperation.OFFBOARD,
            request.reason,
            params=params,
            retention=request.retention.model_dump() | {"retain_until": until},
        )

    def _move(
        self,
        tenant_id: uuid.UUID,
        target: TenantStatus,
        kind: TenantOperation,
        reason: str,
        *,
        params: dict[str, Any] | None = None,
        retention: dict[str, Any] | None = None,
    ) -> TenantAccepted:
        require_operator(self.principal)
        tenant = self._locked(tenant_id)
        check_transition(tenant.status, target)
        self._no_open_operation(tenant)
        tenant.status = target
        tenant.status_reason = reason
        if retention is not None:
            tenant.retention = retention
        operation = self._start(tenant, kind, params)
        self._audit(f"tenant.{kind}", tenant, {"reason": reason, **(params or {})})
        return self._accepted(tenant, operation)

    # ------------------------------------------------------------------ helpers

    def _locked(self, tenant_id: uuid.UUID) -> Tenant:
        tenant = self.tenants.get(self.scope, tenant_id, lock=True)
        if tenant is None:
            raise NotFound(f"tenant {str(tenant_id)!r} not found")
        bind_tenant(tenant.id)
        return tenant

    def _no_open_operation(self, tenant: Tenant) -> None:
        open_op = self.operations.open_in(tenant_lane(tenant.id))
        if open_op is not None:
            raise Conflict(
                f"operation {open_op.id} ({open_op.kind}) is still running for this tenant",
                hint="wait until it finishes (taas tenants ops), then try again",
            )

    def _start(
        self, tenant: Tenant, kind: TenantOperation, params: dict[str, Any] | None = None
    ) -> Operation:
        return self.operations.start(
            lane=tenant_lane(tenant.id),
            tenant_id=tenant.id,
            kind=kind,
            requested_by=self.principal.name,
            request_id=self.request_id,
            traceparent=current_traceparent(),
            params=params,
            busy="this tenant",
        )

    def _audit(self, action: str, tenant: Tenant, detail: dict[str, Any]) -> None:
        self.audit.append(
            actor=self.principal.name,
            action=action,
            outcome="accepted",
            tenant_id=tenant.id,
            request_id=self.request_id,
            detail=detail,
        )

    def _accepted(self, tenant: Tenant, operation: Operation | None) -> TenantAccepted:
        self.session.flush()
        self.session.refresh(tenant)
        if operation is not None:
            self.session.refresh(operation)
        return TenantAccepted(
            tenant=TenantOut.model_validate(tenant),
            operation=OperationOut.model_validate(operation) if operation else None,
        )


def realm_in_use(slug: str) -> bool:
    """Whether ``bank-<slug>`` belongs to a tenant that is not offboarded: the API trusts
    tokens of a tenant's own realm only then (wired into the token verifier at start)."""
    with new_session() as session:
        return TenantRepository(session).realm_in_use(slug)


def execute_offboard(
    session: Session, principal: Principal, request_id: str | None, action: ApprovedAction
) -> Executed:
    """Run an approved offboarding, as the approving operator."""
    service = TenantService(session, principal, request_id)
    accepted = service._offboard_now(
        uuid.UUID(action.target), OffboardRequest.model_validate(action.params), action.id
    )
    return Executed(result=accepted.model_dump(mode="json"))


register(ApprovalAction.TENANT_OFFBOARD, execute_offboard)
