"""Plugin-version and vendor lifecycles as declared transitions.

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

from taas.kit.states import IllegalTransition, Lifecycle


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

PLUGIN_VERSION: Final = Lifecycle(
    "plugin version",
    PluginStatus,
    {
        P.SUBMITTED: {P.VALIDATING},
        P.VALIDATING: {P.VALIDATED, P.INVALID},
        P.VALIDATED: {P.APPROVED, P.REJECTED},
        P.INVALID: set(),
        P.REJECTED: set(),
        P.APPROVED: {P.PUBLISHED, P.REVOKED},
        P.PUBLISHED: {P.DEPRECATED, P.SUSPENDED, P.REVOKED},
        P.DEPRECATED: {P.PUBLISHED, P.SUSPENDED, P.REVOKED},
        P.SUSPENDED: {P.PUBLISHED, P.DEPRECATED, P.REVOKED},
        P.REVOKED: set(),
    },
    initial=P.SUBMITTED,
)
TRANSITIONS: Final = PLUGIN_VERSION.transitions

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


# A refused plugin-version move (the lifecycle's own error; the old name stays for callers).
IllegalPluginTransition = IllegalTransition


def check_plugin_transition(current: PluginStatus, wanted: PluginStatus) -> None:
    PLUGIN_VERSION.check(current, wanted)


V = VendorStatus

VENDOR: Final = Lifecycle(
    "vendor",
    VendorStatus,
    {V.ACTIVE: {V.DISABLED, V.DELETED}, V.DISABLED: {V.ACTIVE, V.DELETED}, V.DELETED: set()},
    initial=V.ACTIVE,
)
