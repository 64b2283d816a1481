"""Fault injection for tests and drills: make a named step fail, stall or crash on purpose.

A fault is a Redis key ``taas:faults:<label>:<step>`` (the label is what the operation
works on, e.g. the tenant's slug) holding JSON such as ``{"kind": "temporary", "times": 2}``
(fail twice, then succeed). The kinds:

- ``temporary`` / ``permanent``: the step raises the matching error before it runs;
- ``sleep``: the step waits ``seconds`` before it runs;
- ``crash_before``: the worker process is killed (SIGKILL) before the step runs;
- ``crash_during``: it is killed ``seconds`` after the step started, while it runs;
- ``crash_after``: it is killed after the step ran, before its result is recorded.

Faults are ignored when ``TAAS_ENVIRONMENT=production``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import redis

from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.settings import app_settings

PREFIX = "taas:faults"
KINDS = ("temporary", "permanent", "sleep", "crash_before", "crash_during", "crash_after")


@lru_cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(app_settings().redis_url)


def fault_key(label: str, step: str) -> str:
    return f"{PREFIX}:{label}:{step}"


def inject(label: str, step: str, kind: str, *, times: int = 1, seconds: float = 0) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
    _client().set(
        fault_key(label, step),
        json.dumps({"kind": kind, "times": times, "seconds": seconds}),
        ex=3600,
    )


def clear(label: str, step: str) -> None:
    _client().delete(fault_key(label, step))


def _take(label: str, step: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The fault armed for this step if it is one of ``kinds``, counting one use of it."""
    if app_settings().environment == "production":
        return None
    key = fault_key(label, step)
    raw = _client().get(key)
    if raw is None:
        return None
    fault: dict[str, Any] = json.loads(raw)
    if fault.get("kind") not in kinds:
        return None
    times = int(fault.get("times", 1))
    if times <= 1:
        _client().delete(key)
    else:
        fault["times"] = times - 1
        _client().set(key, json.dumps(fault), keepttl=True)
    return fault


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def before(label: str, step: str) -> None:
    """Raise, sleep or crash if such a fault is armed for this step."""
    fault = _take(label, step, ("temporary", "permanent", "sleep", "crash_before"))
    if fault is None:
        return
    kind = fault["kind"]
    if kind == "sleep":
        time.sleep(float(fault.get("seconds", 1)))
    elif kind == "crash_before":
        _crash()
    elif kind == "temporary":
        raise TemporaryError(f"injected temporary fault in {step}", delay=0.5)
    else:
        raise PermanentError(
            f"injected permanent fault in {step}", hint="clear the fault and retry the tenant"
        )


@contextmanager
def during(label: str, step: str) -> Iterator[None]:
    """Around a step's run: crash the worker part-way through if so armed."""
    fault = _take(label, step, ("crash_during",))
    timer = None
    if fault is not None:
        timer = threading.Timer(float(fault.get("seconds", 0.05)), _crash)
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()


def after(label: str, step: str) -> None:
    """After a step ran, before its result is recorded: crash if so armed."""
    if _take(label, step, ("crash_after",)) is not None:
        _crash()
