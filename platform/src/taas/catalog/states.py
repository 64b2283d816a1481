"""Plugin-version and subscription lifecycles as declared transitions.

submitted ──► validating ──► validated ──► approved ──► published ◄──► deprecated
                  │              │             │          │   ▲          ▲   │
                  ▼              ▼             │          ▼   │          │   ▼
               invalid        rejected         │         suspended ──────┘
                                               ▼              │
                                            revoked ◄─────────┴── (and from published,
                                                                     deprecated)

Validation failures end in ``invalid``; a reviewer's "no" ends in ``rejected``.
``suspended`` is the reversible kill switch: one operator stops the gateways routing to a
published or deprecated version at once, and ``resume`` puts it back where it was.
Revocation is final: an approved, published, deprecated or suspended version can be
revoked once a second operator approves, and the gateways stop routing to it at once.
``invalid``, ``rejected`` and ``revoked`` are final: a fixed plugin comes back as a new
version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from taas.kit.errors import Conflict


class PluginStatus(StrEnum):
    SUBMITTED = "submitted"
    VALIDATING = "validating"
    VALIDATED = "validated"
    INVALID = "invalid"
    REJECTED = "rejected"
    APPROVED = "approved"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


P = PluginStatus

TRANSITIONS: Final[dict[PluginStatus, frozenset[PluginStatus]]] = {
    P.SUBMITTED: frozenset({P.VALIDATING}),
    P.VALIDATING: frozenset({P.VALIDATED, P.INVALID}),
    P.VALIDATED: frozenset({P.APPROVED, P.REJECTED}),
    P.INVALID: frozenset(),
    P.REJECTED: frozenset(),
    P.APPROVED: frozenset({P.PUBLISHED, P.REVOKED}),
    P.PUBLISHED: frozenset({P.DEPRECATED, P.SUSPENDED, P.REVOKED}),
    P.DEPRECATED: frozenset({P.PUBLISHED, P.SUSPENDED, P.REVOKED}),
    P.SUSPENDED: frozenset({P.PUBLISHED, P.DEPRECATED, P.REVOKED}),
    P.REVOKED: frozenset(),
}

# Versions a gateway routes to; a subscription to any other version answers 503.
SERVABLE: Final = frozenset({P.PUBLISHED, P.DEPRECATED})
# Versions a bank may newly subscribe to.
SUBSCRIBABLE: Final = frozenset({P.PUBLISHED})


# Versions that can change no more.
FINAL: Final = frozenset({P.INVALID, P.REJECTED, P.REVOKED})


class VendorStatus(StrEnum):
    """``active`` vendors log in and submit; ``disabled`` ones cannot (their versions keep
    serving banks); ``deleted`` is final (the record stays for the audit trail and usage)."""

    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class SubscriptionStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    UPDATING = "updating"
    FAILED = "failed"
    REMOVING = "removing"
    REMOVED = "removed"


class IllegalPluginTransition(Conflict):
    """The plugin version cannot go from its current status to the one asked for."""

    def __init__(self, current: PluginStatus, wanted: PluginStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        super().__init__(
            f"plugin version is {current}; it cannot become {wanted}",
            hint=f"from {current} the allowed next states are: {allowed}",
        )
        self.current = current
        self.wanted = wanted


def check_plugin_transition(current: PluginStatus, wanted: PluginStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalPluginTransition(current, wanted)
