"""In-process domain events: a lower domain tells higher ones what happened without
importing them.

The domain that acts defines its events (frozen dataclasses) and publishes them; a domain
above it subscribes handlers, registered once by the composition root. Handlers run at
once, in the publisher's thread and transaction, in the order they were subscribed: what
they change commits or rolls back with the change that caused it, and a handler may veto
that change by raising a domain error (it reaches the caller as the publisher's own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

E = TypeVar("E")

_HANDLERS: dict[type[Any], list[Callable[[Session, Any], None]]] = {}


def subscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """Call ``handler`` for every published ``event_type`` (subscribing twice is harmless)."""
    handlers = _HANDLERS.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def publish(session: Session, event: object) -> None:
    """Run every handler of ``event``'s type, in ``session``'s transaction."""
    for handler in list(_HANDLERS.get(type(event), ())):
        handler(session, event)


def handlers(event_type: type[Any]) -> list[Callable[[Session, Any], None]]:
    """The handlers subscribed to ``event_type``, in calling order."""
    return list(_HANDLERS.get(event_type, ()))
