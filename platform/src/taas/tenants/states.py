"""The tenant lifecycle as declared transitions: nothing else is allowed.

requested ──► provisioning ──► active ◄──► suspended
                 │   ▲            │            │
                 ▼   │ retry      ▼            ▼
                failed ───────► offboarding ──► offboarded
                                 │
                                 └──► failed
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from taas.kit.errors import Conflict


class TenantStatus(StrEnum):
    REQUESTED = "requested"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDING = "offboarding"
    OFFBOARDED = "offboarded"
    FAILED = "failed"


S = TenantStatus

TRANSITIONS: Final[dict[TenantStatus, frozenset[TenantStatus]]] = {
    S.REQUESTED: frozenset({S.PROVISIONING, S.FAILED}),
    S.PROVISIONING: frozenset({S.ACTIVE, S.FAILED}),
    S.ACTIVE: frozenset({S.SUSPENDED, S.OFFBOARDING}),
    S.SUSPENDED: frozenset({S.ACTIVE, S.OFFBOARDING}),
    S.FAILED: frozenset({S.PROVISIONING, S.OFFBOARDING}),
    S.OFFBOARDING: frozenset({S.OFFBOARDED, S.FAILED}),
    S.OFFBOARDED: frozenset(),
}


class IllegalTransition(Conflict):
    """The tenant cannot go from its current status to the one asked for."""

    def __init__(self, current: TenantStatus, wanted: TenantStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        super().__init__(
            f"tenant is {current}; it cannot become {wanted}",
            hint=f"from {current} the allowed next states are: {allowed}",
        )
        self.current = current
        self.wanted = wanted


def check_transition(current: TenantStatus, wanted: TenantStatus) -> None:
    """Raise IllegalTransition unless ``current -> wanted`` is declared."""
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
