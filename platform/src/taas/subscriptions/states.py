"""The subscription lifecycle as declared transitions."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from taas.kit.states import Lifecycle


class SubscriptionStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    UPDATING = "updating"
    FAILED = "failed"
    REMOVING = "removing"
    REMOVED = "removed"


U = SubscriptionStatus

# A subscription is provisioned, changes version (``updating``, back to ``active`` whether
# the change worked or not: it stays routed on the version it had), and is removed by an
# unsubscribe or when its tenant is offboarded (from any state).
SUBSCRIPTION: Final = Lifecycle(
    "subscription",
    SubscriptionStatus,
    {
        U.PROVISIONING: {U.ACTIVE, U.FAILED, U.REMOVED},
        U.ACTIVE: {U.UPDATING, U.REMOVING, U.REMOVED},
        U.UPDATING: {U.ACTIVE, U.REMOVED},
        U.FAILED: {U.REMOVING, U.REMOVED},
        U.REMOVING: {U.REMOVED, U.FAILED},
        U.REMOVED: set(),
    },
    initial=U.PROVISIONING,
)

# Subscriptions that count: all but the removed ones.
LIVE: Final = frozenset(s for s in SubscriptionStatus if s != SubscriptionStatus.REMOVED)
# Subscriptions the gateways route (``updating`` stays on its current version).
ROUTED: Final = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.UPDATING})
