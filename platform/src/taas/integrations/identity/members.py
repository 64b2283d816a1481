"""Platform members: the operators and auditors, users of the platform realm."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import requests
from keycloak.exceptions import KeycloakError

from taas.integrations.identity.connection import KeycloakAdmins
from taas.integrations.identity.errors import failure, missing, translate, unreachable
from taas.integrations.identity.passwords import new_password
from taas.integrations.identity.platform import PLATFORM_ROLES
from taas.kit.errors import Conflict
from taas.kit.telemetry import traced


@dataclass(frozen=True)
class PlatformMember:
    """An operator or auditor: a user of the platform realm with a platform role."""

    id: str
    username: str
    email: str | None
    roles: tuple[str, ...]
    enabled: bool
    pending_setup: bool  # still has to replace its temporary password
    created_at_ms: int | None


def _member(user: dict[str, Any], roles: list[str]) -> PlatformMember:
    return PlatformMember(
        id=str(user["id"]),
        username=str(user["username"]),
        email=user.get("email"),
        roles=tuple(sorted(roles)),
        enabled=bool(user.get("enabled", True)),
        pending_setup="UPDATE_PASSWORD" in (user.get("requiredActions") or []),
        created_at_ms=user.get("createdTimestamp"),
    )


class PlatformMembers(KeycloakAdmins):
    """Lists, adds and removes the people who run the platform."""

    @traced("keycloak.platform_members")
    def platform_members(self) -> list[PlatformMember]:
        """Users of the platform realm holding a platform role (operators, auditors)."""
        admin = self.admin(self.platform_realm)
        roles: dict[str, list[str]] = {}
        for role in PLATFORM_ROLES:
            members = translate(
                functools.partial(admin.get_realm_role_members, role),
                "list role members",
            )
            for member in members:
                roles.setdefault(str(member["id"]), []).append(role)
        users = [
            translate(functools.partial(admin.get_user, user_id), "read user") for user_id in roles
        ]
        return sorted(
            (_member(user, roles[str(user["id"])]) for user in users), key=lambda m: m.username
        )

    @traced("keycloak.add_platform_member")
    def add_platform_member(self, username: str, email: str, role: str) -> str:
        """A platform-realm user with ``role`` and a temporary password it must replace at
        the first login; returns that password."""
        admin = self.admin(self.platform_realm)
        password = new_password()
        payload = {
            "username": username,
            "email": email,
            "emailVerified": True,
            "enabled": True,
            "firstName": username,
            "lastName": "operator",
            "requiredActions": ["UPDATE_PASSWORD"],
            "credentials": [{"type": "password", "value": password, "temporary": True}],
        }
        try:
            user_id = admin.create_user(payload, exist_ok=False)
        except requests.RequestException as exc:
            raise unreachable(exc, "create user") from exc
        except KeycloakError as exc:
            if exc.response_code != 409:
                raise failure(exc, "create user") from exc
            # The realm refuses a second user with the same name or email address.
            raise Conflict(
                f"a platform user with the name {username!r} or the email address {email!r} "
                "already exists",
                hint="each person gets their own account: use another name and address",
            ) from exc
        wanted = translate(lambda: admin.get_realm_role(role), "read role")
        translate(lambda: admin.assign_realm_roles(str(user_id), [wanted]), "assign role")
        return password

    @traced("keycloak.reset_platform_member_password")
    def reset_temporary_password(self, user_id: str) -> str:
        """A new temporary password for a member who has not logged in yet."""
        admin = self.admin(self.platform_realm)
        password = new_password()
        translate(
            lambda: admin.set_user_password(user_id, password, temporary=True), "set password"
        )
        return password

    @traced("keycloak.remove_platform_member")
    def remove_platform_member(self, user_id: str) -> None:
        """Delete the user (its sessions end with it)."""
        admin = self.admin(self.platform_realm)
        translate(lambda: missing(lambda: admin.delete_user(user_id)), "delete user")
