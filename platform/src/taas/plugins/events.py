"""What happens to plugin versions and vendors that domains above this one react to.

Published with :func:`taas.kit.events.publish` in the transaction that made the change;
the subscriptions domain subscribes its handlers (see :mod:`taas.wiring`). Each event names
who acted (``actor``, as the audit trail names them) and the request, so what a handler
starts is recorded as theirs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class VersionEvent:
    """Something happened to one plugin version."""

    version_id: uuid.UUID
    name: str
    version: str
    actor: str
    request_id: str | None


@dataclass(frozen=True)
class VersionPublished(VersionEvent):
    """A version was published: what the ``stable`` channel follows may have changed."""


@dataclass(frozen=True)
class VersionSuspended(VersionEvent):
    """The reversible kill switch: the gateways stop routing to the version."""

    reason: str = ""


@dataclass(frozen=True)
class VersionResumed(VersionEvent):
    """A suspension was undone: the version is served again."""


@dataclass(frozen=True)
class VersionRevoked(VersionEvent):
    """Revoked for good. Handlers list here the operations they started because of it."""

    reason: str = ""
    started: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class VendorDeleting:
    """A vendor is about to be deleted (asked for, or approved): a handler vetoes it by
    raising :class:`taas.kit.errors.Conflict` while something still depends on these
    versions, the vendor's ones that deleting it would end."""

    vendor: str
    version_ids: tuple[uuid.UUID, ...]
