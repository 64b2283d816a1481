"""Lifecycles: declared moves pass, anything else is refused, on a real mapped object too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from enum import StrEnum

import pytest

from conftest import ControlPlane
from taas.kit.db import new_session
from taas.kit.errors import Conflict
from taas.kit.states import LIFECYCLES, IllegalTransition, Lifecycle, mermaid_document
from taas.tenants.models import Tenant
from taas.tenants.states import TENANT, TenantStatus


class Door(StrEnum):
    OPEN = "open"
    SHUT = "shut"
    GONE = "gone"


@pytest.fixture
def door() -> Iterator[Lifecycle[Door]]:
    lifecycle = Lifecycle(
        "door",
        Door,
        {Door.OPEN: {Door.SHUT}, Door.SHUT: {Door.OPEN, Door.GONE}, Door.GONE: set()},
        initial=Door.SHUT,
    )
    yield lifecycle
    LIFECYCLES.remove(lifecycle)  # the registry holds the platform's lifecycles only


def test_declared_moves_pass_and_others_are_refused(door: Lifecycle[Door]) -> None:
    door.check(Door.OPEN, Door.SHUT)
    door.check("shut", "gone")
    assert door.allows(Door.SHUT, Door.OPEN)
    assert not door.allows(Door.OPEN, Door.GONE)
    with pytest.raises(IllegalTransition) as refused:
        door.check(Door.OPEN, Door.GONE)
    assert isinstance(refused.value, Conflict)
    assert refused.value.current == Door.OPEN
    assert refused.value.wanted == Door.GONE
    assert "door is open; it cannot become gone" in refused.value.message
    assert refused.value.hint == "from open the allowed next states are: shut"


def test_asked_directly_a_move_to_the_same_state_is_refused_unless_declared(
    door: Lifecycle[Door],
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        door.check(Door.GONE, Door.GONE)
    assert refused.value.hint == "from gone the allowed next states are: none (final)"


def test_final_states_and_next_states(door: Lifecycle[Door]) -> None:
    assert door.final() == {Door.GONE}
    assert door.next_of("shut") == {Door.OPEN, Door.GONE}


def test_every_state_must_say_where_it_goes() -> None:
    with pytest.raises(ValueError, match=r"no transitions declared from \['gone'\]"):
        Lifecycle("door", Door, {Door.OPEN: set(), Door.SHUT: set()}, initial=Door.SHUT)


def test_the_mermaid_diagram_starts_at_the_initial_state_and_ends_at_the_final_ones(
    door: Lifecycle[Door],
) -> None:
    assert door.mermaid().splitlines() == [
        "stateDiagram-v2",
        "    [*] --> shut",
        "    open --> shut",
        "    shut --> gone",
        "    shut --> open",
        "    gone --> [*]",
    ]
    document = mermaid_document([door])
    assert document.startswith("### door\n\n```mermaid\nstateDiagram-v2\n")
    assert document.endswith("```\n")


def _tenant(status: TenantStatus) -> Tenant:
    slug = f"states-{uuid.uuid4().hex[:8]}"
    return Tenant(
        slug=slug, display_name=slug, tier="pool", region="local", quotas={}, status=status
    )


def test_the_guard_checks_every_write_of_a_mapped_status(control_plane: ControlPlane) -> None:
    with new_session() as session:
        try:
            tenant = _tenant(TenantStatus.REQUESTED)
            session.add(tenant)
            session.flush()
            tenant.status = TenantStatus.REQUESTED  # the same status: not a move
            tenant.status = TenantStatus.PROVISIONING
            session.flush()
            session.expire(tenant)  # the guard loads the stored status to compare with
            with pytest.raises(IllegalTransition):
                tenant.status = TenantStatus.OFFBOARDED
            assert tenant.status == TenantStatus.PROVISIONING
            session.refresh(tenant)
            assert tenant.status == TenantStatus.PROVISIONING
        finally:
            session.rollback()


def test_a_new_records_first_status_is_not_a_move(control_plane: ControlPlane) -> None:
    with new_session() as session:
        try:
            tenant = _tenant(TenantStatus.OFFBOARDED)  # not the initial state, still allowed
            session.add(tenant)
            session.flush()
            with pytest.raises(IllegalTransition):
                tenant.status = TenantStatus.ACTIVE  # offboarded is final
        finally:
            session.rollback()


def test_the_tenant_lifecycle_is_registered() -> None:
    assert TENANT in LIFECYCLES
