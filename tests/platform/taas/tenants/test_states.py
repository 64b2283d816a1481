"""The tenant lifecycle allows only declared transitions."""

from __future__ import annotations

import itertools

import pytest

from taas.tenants.states import TRANSITIONS, IllegalTransition, TenantStatus, check_transition

S = TenantStatus


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.REQUESTED, S.PROVISIONING),
        (S.PROVISIONING, S.ACTIVE),
        (S.PROVISIONING, S.FAILED),
        (S.ACTIVE, S.SUSPENDED),
        (S.SUSPENDED, S.ACTIVE),
        (S.ACTIVE, S.OFFBOARDING),
        (S.SUSPENDED, S.OFFBOARDING),
        (S.FAILED, S.PROVISIONING),
        (S.FAILED, S.OFFBOARDING),
        (S.OFFBOARDING, S.OFFBOARDED),
    ],
)
def test_declared_transitions_are_allowed(current: TenantStatus, wanted: TenantStatus) -> None:
    check_transition(current, wanted)


def test_everything_else_is_refused_with_the_allowed_next_states() -> None:
    refused = 0
    for current, wanted in itertools.product(S, S):
        if wanted in TRANSITIONS[current]:
            continue
        with pytest.raises(IllegalTransition) as error:
            check_transition(current, wanted)
        assert error.value.current is current
        assert error.value.hint is not None
        refused += 1
    assert refused == len(S) ** 2 - sum(len(t) for t in TRANSITIONS.values())


def test_offboarded_is_final() -> None:
    assert TRANSITIONS[S.OFFBOARDED] == frozenset()
    with pytest.raises(IllegalTransition, match="none \\(final\\)"):
        check_transition(S.OFFBOARDED, S.ACTIVE)


def test_every_status_has_a_declared_entry() -> None:
    assert set(TRANSITIONS) == set(S)
