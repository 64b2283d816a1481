"""Kept access tokens: reused for part of their lifetime, then logged in afresh."""

from __future__ import annotations

import time

import pytest

from taas.integrations.identity.tokens import TokenCache

KEY = ("bank-x", "taas-control-plane")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def test_a_token_is_reused_with_the_time_left_to_reuse_it(clock: list[float]) -> None:
    cache = TokenCache()
    cache.put(KEY, {"access_token": "a", "expires_in": 300})
    clock[0] += 100
    kept = cache.get(KEY)
    assert kept == {"access_token": "a", "expires_in": 140}  # 0.8 x 300 - 100
    assert cache.get(("bank-y", "taas-control-plane")) is None


def test_a_token_near_the_end_of_its_reuse_is_dropped(clock: list[float]) -> None:
    cache = TokenCache()
    cache.put(KEY, {"access_token": "a", "expires_in": 300})
    clock[0] += 0.8 * 300 - 4
    assert cache.get(KEY) is None
    assert len(cache) == 0


def test_a_token_without_a_lifetime_is_not_kept(clock: list[float]) -> None:
    cache = TokenCache()
    cache.put(KEY, {"access_token": "a"})
    cache.put(KEY, None)
    assert cache.get(KEY) is None


def test_forget_drops_a_refused_token(clock: list[float]) -> None:
    cache = TokenCache()
    cache.put(KEY, {"access_token": "a", "expires_in": 300})
    cache.forget(KEY)
    assert cache.get(KEY) is None


def test_a_full_cache_drops_stale_tokens_first_then_the_oldest(clock: list[float]) -> None:
    cache = TokenCache(max_tokens=2)
    cache.put(("r1", "c"), {"access_token": "1", "expires_in": 10})  # reusable 8 s
    cache.put(("r2", "c"), {"access_token": "2", "expires_in": 300})
    clock[0] += 4
    cache.put(("r3", "c"), {"access_token": "3", "expires_in": 300})  # r1 is stale: dropped
    assert [cache.get((r, "c")) is not None for r in ("r1", "r2", "r3")] == [False, True, True]
    cache.put(("r4", "c"), {"access_token": "4", "expires_in": 300})  # none stale: the oldest
    assert [cache.get((r, "c")) is not None for r in ("r2", "r3", "r4")] == [False, True, True]
