"""Fault injection for tests and drills: make a named saga step fail on purpose.

A fault is a Redis key ``taas:faults:<tenant slug>:<step>`` holding JSON such as
``{"kind": "temporary", "times": 2}`` (fail twice, then succeed), ``{"kind": "permanent"}``
or ``{"kind": "sleep", "seconds": 10}`` (to kill a worker mid-step). Faults are ignored
when ``TAAS_ENVIRONMENT=production``.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import redis

from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.settings import app_settings

PREFIX = "taas:faults"


@lru_cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(app_settings().redis_url)


def fault_key(slug: str, step: str) -> str:
    return f"{PREFIX}:{slug}:{step}"


def inject(slug: str, step: str, kind: str, *, times: int = 1, seconds: float = 0) -> None:
    _client().set(
        fault_key(slug, step),
        json.dumps({"kind": kind, "times": times, "seconds": seconds}),
        ex=3600,
    )


def check(slug: str, step: str) -> None:
    """Raise (or sleep) if a fault is armed for this tenant's step."""
    if app_settings().environment == "production":
        return
    key = fault_key(slug, step)
    raw = _client().get(key)
    if raw is None:
        return
    fault = json.loads(raw)
    times = int(fault.get("times", 1))
    if times <= 1:
        _client().delete(key)
    else:
        fault["times"] = times - 1
        _client().set(key, json.dumps(fault), keepttl=True)
    kind = fault.get("kind")
    if kind == "sleep":
        time.sleep(float(fault.get("seconds", 1)))
    elif kind == "temporary":
        raise TemporaryError(f"injected temporary fault in {step}", delay=0.5)
    elif kind == "permanent":
        raise PermanentError(
            f"injected permanent fault in {step}", hint="clear the fault and retry the tenant"
        )
