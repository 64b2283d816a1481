"""Access tokens kept for reuse between admin clients of one process.

A login costs Keycloak far more than an admin read (102 ms p50 against 6-9 ms for a
bank realm's local account with 5,100 tenants present; ``benchmarks/keycloak_callers.py``,
docs/benchmarks.md), and python-keycloak logs in afresh for every new admin client.
Tokens are reused until
``REUSE_FRACTION`` of their lifetime has passed; a token Keycloak refuses earlier (its
realm or client deleted) costs one refused request, after which python-keycloak logs in
again. Only tokens are kept, not connections, so a forked worker child shares nothing
with its parent but plain data.
"""

from __future__ import annotations

import threading
import time
from typing import Any

REUSE_FRACTION = 0.8
MAX_TOKENS = 10_000  # one per bank realm's local account, plus the master accounts
MIN_LEFT_S = 5.0


class TokenCache:
    """Tokens by (realm logged in to, account), thread-safe."""

    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        self._tokens: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()
        self._max = max_tokens

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        """A copy of the kept token whose ``expires_in`` is the reuse time left, or None."""
        with self._lock:
            kept = self._tokens.get(key)
            if kept is None:
                return None
            token, until = kept
            left = until - time.monotonic()
            if left < MIN_LEFT_S:
                del self._tokens[key]
                return None
        return {**token, "expires_in": int(left)}

    def put(self, key: tuple[str, str], token: dict[str, Any] | None) -> None:
        if not token or not token.get("expires_in"):
            return
        until = time.monotonic() + REUSE_FRACTION * float(token["expires_in"])
        with self._lock:
            if key not in self._tokens and len(self._tokens) >= self._max:
                now = time.monotonic()
                for stale in [k for k, (_, u) in self._tokens.items() if u - now < MIN_LEFT_S]:
                    del self._tokens[stale]
                if len(self._tokens) >= self._max:  # still full: drop the oldest kept
                    del self._tokens[next(iter(self._tokens))]
            self._tokens[key] = (token, until)

    def forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def __len__(self) -> int:
        return len(self._tokens)
