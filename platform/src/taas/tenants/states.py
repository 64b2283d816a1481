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

from taas.kit.states import IllegalTransition, Lifecycle


class TenantStatus(StrEnum):
    REQUESTED = "requested"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDING = "offboarding"
    OFFBOARDED = "offboarded"
    FAILED = "failed"


S = TenantStatus

TENANT: Final = Lifecycle(
    "tenant",
    TenantStatus,
    {
        S.REQUESTED: {S.PROVISIONING, S.FAILED},
        S.PROVISIONING: {S.ACTIVE, S.FAILED},
        S.ACTIVE: {S.SUSPENDED, S.OFFBOARDING},
        S.SUSPENDED: {S.ACTIVE, S.OFFBOARDING},
        S.FAILED: {S.PROVISIONING, S.OFFBOARDING},
        S.OFFBOARDING: {S.OFFBOARDED, S.FAILED},
        S.OFFBOARDED: set(),
    },
    initial=S.REQUESTED,
)
TRANSITIONS: Final = TENANT.transitions

__all__ = ["TENANT", "TRANSITIONS", "IllegalTransition", "TenantStatus", "check_transition"]


def check_transition(current: TenantStatus, wanted: TenantStatus) -> None:
    """Raise IllegalTransition unless ``current -> wanted`` is declared."""
    TENANT.check(current, wanted)
