"""Who may be removed from the platform realm (pure logic; the API tests use Keycloak)."""

from __future__ import annotations

import pytest

from taas.integrations.identity import PlatformMember
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.operators.service import removable


def member(name: str, *roles: str, enabled: bool = True) -> PlatformMember:
    return PlatformMember(
        id=f"id-{name}",
        username=name,
        email=None,
        roles=roles,
        enabled=enabled,
        pending_setup=False,
        created_at_ms=None,
    )


ALICE = member("alice", "platform-operator")
BOB = member("bob", "platform-operator")
AUDREY = member("audrey", "platform-auditor")


def test_an_operator_removes_another_operator_or_an_auditor() -> None:
    assert removable([ALICE, BOB, AUDREY], "bob", ALICE.id) is BOB
    assert removable([ALICE, BOB, AUDREY], "audrey", ALICE.id) is AUDREY


def test_nobody_removes_themselves() -> None:
    with pytest.raises(Forbidden, match="yourself"):
        removable([ALICE, BOB], "alice", ALICE.id)


def test_the_last_enabled_operator_stays() -> None:
    # The caller's token may outlive its role (or its user): the rule still holds.
    with pytest.raises(Conflict, match="last platform operator"):
        removable([ALICE, AUDREY], "alice", "id-someone-removed-since")
    disabled_bob = member("bob", "platform-operator", enabled=False)
    with pytest.raises(Conflict, match="last platform operator"):
        removable([ALICE, disabled_bob], "alice", disabled_bob.id)


def test_an_unknown_name_is_not_found() -> None:
    with pytest.raises(NotFound):
        removable([ALICE, BOB], "mallory", ALICE.id)
