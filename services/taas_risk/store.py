"""Per-tenant state: rules, blacklist and application history.

``RiskStore.tenant(tenant_id)`` is the only way in, and everything the returned
``TenantRiskData`` holds belongs to that one tenant: no method takes another tenant id,
so one bank's blacklist or history can never be read for another's decision.

The history keeps, per identifier (ID number, phone, card, device, IP), the times of the
applications that carried it, in order, so counting those in a rolling window is a binary
search (O(log n)); entries older than the retention are dropped as keys are touched, and
untouched keys by a sweep that runs after as many records as there are keys (amortised
O(1) per record). Identifiers are kept only as keyed hashes (BLAKE2b, a random key per
tenant and process), never in clear.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from taas_risk.rules import MAX_WINDOW_S, BlacklistKind, RiskRules, VelocityKey

Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to (tests, replays of past applications)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class BlacklistEntry:
    """One blacklisted identifier of a tenant (value normalised, see ``fraud``)."""

    kind: BlacklistKind
    value: str
    reason: str
    added_at: float


class TenantRiskData(Protocol):
    """One tenant's rules, blacklist and application history."""

    def rules(self) -> RiskRules: ...

    def replace_rules(self, rules: RiskRules) -> None: ...

    def add_to_blacklist(self, kind: BlacklistKind, value: str, reason: str) -> BlacklistEntry:
        """Add (or update the reason of) an entry; returns it."""
        ...

    def remove_from_blacklist(self, kind: BlacklistKind, value: str) -> bool:
        """Remove an entry; False if it was not there."""
        ...

    def blacklist(self, kind: BlacklistKind | None = None) -> list[BlacklistEntry]: ...

    def blacklisted(self, kind: BlacklistKind, value: str) -> BlacklistEntry | None: ...

    def record_application(
        self, keys: Mapping[VelocityKey, str], application_id: str | None = None
    ) -> float:
        """Add an application to the history (once per ``application_id``); returns its time."""
        ...

    def count_since(self, key: VelocityKey, value: str, since: float) -> int:
        """Applications carrying ``key`` = ``value`` at or after ``since``."""
        ...

    def applications_since(self, keys: Mapping[VelocityKey, str], since: float) -> int:
        """Distinct applications at or after ``since`` carrying any of ``keys``."""
        ...


class RiskStore(Protocol):
    """Where tenants' risk data lives."""

    def tenant(self, tenant_id: str) -> TenantRiskData: ...


class _Timeline:
    """Times (ascending) and sequence numbers of the applications that carried one key."""

    __slots__ = ("sequences", "start", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.sequences: list[int] = []
        self.start = 0

    def append(self, at: float, sequence: int) -> None:
        self.times.append(at)
        self.sequences.append(sequence)

    def first_since(self, since: float) -> int:
        return bisect.bisect_left(self.times, since, lo=self.start)

    def prune(self, before: float) -> None:
        self.start = self.first_since(before)
        if self.start > len(self.times) // 2:
            del self.times[: self.start], self.sequences[: self.start]
            self.start = 0

    def __len__(self) -> int:
        return len(self.times) - self.start


class InMemoryTenantData:
    """``TenantRiskData`` in process memory (lost on restart; one process only)."""

    def __init__(self, clock: Clock, retention_s: float) -> None:
        self._clock = clock
        self._retention_s = retention_s
        self._lock = threading.Lock()
        self._rules = RiskRules()
        self._blacklist: dict[tuple[str, str], BlacklistEntry] = {}
        self._timelines: dict[bytes, _Timeline] = {}
        self._recorded_ids: dict[str, float] = {}
        self._hash_key = os.urandom(32)
        self._sequence = 0
        self._last_at = 0.0
        self._records_since_sweep = 0

    def rules(self) -> RiskRules:
        return self._rules

    def replace_rules(self, rules: RiskRules) -> None:
        self._rules = rules

    def add_to_blacklist(self, kind: BlacklistKind, value: str, reason: str) -> BlacklistEntry:
        with self._lock:
            entry = BlacklistEntry(kind, value, reason, self._clock())
            self._blacklist[(kind, value)] = entry
            return entry

    def remove_from_blacklist(self, kind: BlacklistKind, value: str) -> bool:
        with self._lock:
            return self._blacklist.pop((kind, value), None) is not None

    def blacklist(self, kind: BlacklistKind | None = None) -> list[BlacklistEntry]:
        with self._lock:
            entries = [e for e in self._blacklist.values() if kind is None or e.kind == kind]
        return sorted(entries, key=lambda e: (e.kind, e.value))

    def blacklisted(self, kind: BlacklistKind, value: str) -> BlacklistEntry | None:
        return self._blacklist.get((kind, value))

    def _digest(self, key: str, value: str) -> bytes:
        material = f"{key}\x00{value}".encode()
        return hashlib.blake2b(material, key=self._hash_key, digest_size=16).digest()

    def record_application(
        self, keys: Mapping[VelocityKey, str], application_id: str | None = None
    ) -> float:
        with self._lock:
            at = self._last_at = max(self._clock(), self._last_at)
            if application_id is not None and application_id in self._recorded_ids:
                return at
            self._sequence += 1
            expired = at - self._retention_s
            for key, value in keys.items():
                timeline = self._timelines.setdefault(self._digest(key, value), _Timeline())
                timeline.prune(expired)
                timeline.append(at, self._sequence)
            if application_id is not None:
                self._recorded_ids[application_id] = at
            self._records_since_sweep += 1
            if self._records_since_sweep > len(self._timelines) + len(self._recorded_ids):
                self._sweep(expired)
            return at

    def _sweep(self, expired: float) -> None:
        for digest, timeline in list(self._timelines.items()):
            timeline.prune(expired)
            if not timeline:
                del self._timelines[digest]
        self._recorded_ids = {k: t for k, t in self._recorded_ids.items() if t >= expired}
        self._records_since_sweep = 0

    def count_since(self, key: VelocityKey, value: str, since: float) -> int:
        with self._lock:
            timeline = self._timelines.get(self._digest(key, value))
            return 0 if timeline is None else len(timeline.times) - timeline.first_since(since)

    def applications_since(self, keys: Mapping[VelocityKey, str], since: float) -> int:
        with self._lock:
            seen: set[int] = set()
            for key, value in keys.items():
                timeline = self._timelines.get(self._digest(key, value))
                if timeline is not None:
                    seen.update(timeline.sequences[timeline.first_since(since) :])
            return len(seen)

    def size(self) -> int:
        """Identifiers held in the history (for tests and monitoring)."""
        with self._lock:
            return len(self._timelines)


class InMemoryRiskStore:
    """``RiskStore`` in process memory: one ``InMemoryTenantData`` per tenant id."""

    def __init__(self, clock: Clock = time.time, retention_s: float = MAX_WINDOW_S) -> None:
        self._clock = clock
        self._retention_s = retention_s
        self._tenants: dict[str, InMemoryTenantData] = {}
        self._lock = threading.Lock()

    def tenant(self, tenant_id: str) -> InMemoryTenantData:
        if not tenant_id:
            raise ValueError("a tenant id is required")
        with self._lock:
            data = self._tenants.get(tenant_id)
            if data is None:
                data = self._tenants[tenant_id] = InMemoryTenantData(self._clock, self._retention_s)
            return data
