"""In-process events: handlers run in order, once each, and a raising one vetoes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from taas.kit.errors import Conflict
from taas.kit.events import handlers, publish, subscribe


@dataclass(frozen=True)
class Happened:
    what: str
    seen: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Unrelated:
    what: str


SESSION = cast(Session, object())  # the mechanism only passes it on


def _first(session: Any, event: Happened) -> None:
    assert session is SESSION
    event.seen.append(f"first:{event.what}")


def _second(session: Any, event: Happened) -> None:
    event.seen.append(f"second:{event.what}")
    if event.what == "refused":
        raise Conflict("vetoed")


def test_handlers_run_in_order_and_once_each() -> None:
    subscribe(Happened, _first)
    subscribe(Happened, _second)
    subscribe(Happened, _first)  # subscribing again is harmless
    assert handlers(Happened) == [_first, _second]
    event = Happened("published")
    publish(SESSION, event)
    assert event.seen == ["first:published", "second:published"]


def test_a_handler_vetoes_by_raising() -> None:
    subscribe(Happened, _first)
    subscribe(Happened, _second)
    event = Happened("refused")
    with pytest.raises(Conflict):
        publish(SESSION, event)
    assert event.seen == ["first:refused", "second:refused"]


def test_an_event_nobody_subscribed_to_is_a_no_op() -> None:
    assert handlers(Unrelated) == []
    publish(SESSION, Unrelated("nothing"))
