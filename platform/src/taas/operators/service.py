"""Who may run the platform: add, list and remove operators and auditors.

Only platform operators may do it. Nobody removes themselves, and the last operator
cannot be removed: plugin review needs two operators (four eyes), and a platform with none
could only be repaired in Keycloak's admin console.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from taas.audit.repository import AuditRepository
from taas.integrations.identity import IdentityTenants, PlatformMember
from taas.integrations.systems import systems
from taas.kit.auth import OPERATOR
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.kit.service import CallerService
from taas.operators.repository import OperatorsRepository
from taas.operators.schemas import OperatorCreate, OperatorCreated, OperatorList, OperatorOut


def operator_out(member: PlatformMember) -> OperatorOut:
    created = (
        dt.datetime.fromtimestamp(member.created_at_ms / 1000, dt.UTC)
        if member.created_at_ms
        else None
    )
    return OperatorOut.model_validate(
        {
            "id": member.id,
            "username": member.username,
            "email": member.email,
            "roles": list(member.roles),
            "enabled": member.enabled,
            "pending_setup": member.pending_setup,
            "created_at": created,
        }
    )


def removable(members: list[PlatformMember], username: str, caller: str) -> PlatformMember:
    """The member named ``username``, if ``caller`` (a subject) may remove it: never
    themselves, never the last enabled operator."""
    target = next((m for m in members if m.username == username), None)
    if target is None:
        raise NotFound(
            f"no operator or auditor named {username!r}", hint="see: taas operators list"
        )
    if target.id == caller:
        raise Forbidden(
            "you cannot remove yourself", hint="ask another platform operator to remove you"
        )
    others = [m for m in members if OPERATOR in m.roles and m.enabled and m.id != target.id]
    if OPERATOR in target.roles and not others:
        raise Conflict(
            f"{username!r} is the last platform operator",
            hint="add another operator first: taas operators add NAME --email ADDRESS",
        )
    return target


class OperatorService(CallerService):
    @property
    def identity(self) -> IdentityTenants:
        return systems().identity

    def list(self) -> OperatorList:
        self._require_operator()
        return OperatorList(items=[operator_out(m) for m in self.identity.platform_members()])

    def add(self, request: OperatorCreate, idempotency_key: str | None) -> OperatorCreated:
        """Create the user with a temporary password; a retry with the same key gives a new
        temporary password while the user has not logged in yet."""
        self._require_operator()
        first = self.once(idempotency_key, "operators.create", request.model_dump(mode="json"))
        if first.earlier is not None:
            return self._replay(request.username)
        if self._member(request.username) is not None:
            raise Conflict(
                f"a platform user named {request.username!r} already exists",
                hint="choose another user name, or send the same Idempotency-Key to retry",
            )
        password = self.identity.add_platform_member(
            request.username, str(request.email), request.role.value
        )
        member = self._member(request.username)
        if member is None:  # Keycloak answered the create, so it is there
            raise Conflict(f"the new user {request.username!r} is not visible yet; retry")
        self._audit("operator.create", request.model_dump(mode="json"))
        body = self._created(member, password)
        # No password at rest: a replay issues a new one (see _replay).
        first.keep({"operator": body.operator.model_dump(mode="json")})
        return body

    def _replay(self, username: str) -> OperatorCreated:
        member = self._member(username)
        if member is None:
            raise Conflict(
                f"the user {username!r} created with this Idempotency-Key was removed since",
                hint="use a new key to add it again",
            )
        password = None
        if member.pending_setup:
            password = self.identity.reset_temporary_password(member.id)
            self._audit("operator.temporary_password", {"username": username})
        return self._created(member, password)

    def remove(self, username: str) -> None:
        self._require_operator()
        OperatorsRepository(self.session).lock_membership()
        members = self.identity.platform_members()
        target = removable(members, username, self.principal.subject)
        self.identity.remove_platform_member(target.id)
        self._audit("operator.remove", {"username": username, "roles": list(target.roles)})

    def _created(self, member: PlatformMember, password: str | None) -> OperatorCreated:
        account = f"{self.identity.issuer(self.identity.platform_realm)}/account"
        return OperatorCreated(
            operator=operator_out(member), temporary_password=password, account_url=account
        )

    def _require_operator(self) -> None:
        # Checked by each call, not when built: an endpoint is given the service before
        # its input is validated, and a malformed request is told so first (422).
        if not self.principal.is_operator:
            raise Forbidden("only platform operators may manage operators and auditors")

    def _member(self, username: str) -> PlatformMember | None:
        return next((m for m in self.identity.platform_members() if m.username == username), None)

    def _audit(self, action: str, detail: dict[str, Any]) -> None:
        AuditRepository(self.session).append(
            actor=self.principal.name,
            action=action,
            outcome="accepted",
            request_id=self.request_id,
            detail=detail,
        )
