"""Fault injection for tests and drills: make a named step fail, stall or crash on purpose.

A fault is a Redis key ``taas:faults:<label>:<step>`` (the label is what the operation
works on, e.g. the tenant's slug) holding JSON such as ``{"kind": "temporary", "times": 2}``
(fail twice, then succeed). The kinds:

- ``temporary`` / ``permanent``: the step raises the matching error before it runs;
- ``sleep``: the step waits ``seconds`` before it runs;
- ``crash_before``: the worker process is killed (SIGKILL) before the step runs;
- ``crash_during``: it is killed ``seconds`` after the step started, while it runs (or as
  the step ends, if it ends sooner: an armed crash always happens);
- ``crash_after``: it is killed after the step ran, before its result is recorded.

Each crash leaves a note under ``taas:faults:fired:<label>:<step>`` saying where it struck
(:func:`fired`), so a drill can tell a crash that happened from one that never did.
Faults are ignored when ``TAAS_ENVIRONMENT=production``, and so is an unreachable Redis:
a fault store that is down means no fault is armed, never a failed step.
"""

from __future__ import annotations

import json
import logging
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

log = logging.getLogger(__name__)
PREFIX = "taas:faults"
KINDS = ("temporary", "permanent", "sleep", "crash_before", "crash_during", "crash_after")


@lru_cache
def _client() -> redis.Redis:
    # bounded waits: a Redis that stops answering must not hold a step forever
    return redis.Redis.from_url(
        app_settings().redis_url, socket_timeout=2, socket_connect_timeout=2
    )


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
    _client().delete(fault_key(label, step), _fired_key(label, step))


def _fired_key(label: str, step: str) -> str:
    return f"{PREFIX}:fired:{label}:{step}"


def fired(label: str, step: str) -> str | None:
    """Where an injected crash struck this step (``None``: no crash happened)."""
    raw = _client().get(_fired_key(label, step))
    return raw.decode() if isinstance(raw, bytes) else raw


def _take(label: str, step: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The fault armed for this step if it is one of ``kinds``, counting one use of it."""
    if app_settings().environment == "production":
        return None
    try:
        return _take_from_redis(label, step, kinds)
    except redis.RedisError as exc:  # the fault store is down: no fault is armed
        log.warning("fault store unreachable, no fault injected in %s: %s", step, exc)
        return None


def _take_from_redis(label: str, step: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
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


def _crash(label: str, step: str, where: str) -> None:
    try:
        _client().set(_fired_key(label, step), where, ex=3600)
    except redis.RedisError:  # the note is for drills; the crash is what matters
        log.warning("could not note the injected crash in %s", step)
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
        _crash(label, step, "before the step")
    elif kind == "temporary":
        raise TemporaryError(f"injected temporary fault in {step}", delay=0.5)
    else:
        raise PermanentError(
            f"injected permanent fault in {step}", hint="clear the fault and retry the tenant"
        )


@contextmanager
def during(label: str, step: str) -> Iterator[None]:
    """Around a step's run: crash the worker part-way through if so armed, at the latest
    as the step ends (a fast step must not outrun an armed crash)."""
    fault = _take(label, step, ("crash_during",))
    if fault is None:
        yield
        return
    seconds = float(fault.get("seconds", 0.05))
    timer = threading.Timer(seconds, _crash, (label, step, f"{seconds:g}s into the step"))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        _crash(label, step, "as the step ended, before it returned")


def after(label: str, step: str) -> None:
    """After a step ran, before its result is recorded: crash if so armed."""
    if _take(label, step, ("crash_after",)) is not None:
        _crash(label, step, "after the step, before its result was recorded")
