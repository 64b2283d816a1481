"""Per-tenant state: rules, blacklist and application history, kept in the tenant's bucket.

``RiskStore.tenant(tenant_id, storage)`` is the only way in, and everything the returned
``TenantRiskData`` holds belongs to that one tenant: no method takes another tenant id,
so one bank's blacklist or history can never be read for another's decision.

**In memory.** The history keeps, per identifier (ID number, phone, card, device, IP), the
times of the applications that carried it, in order, so counting those in a rolling
window is a binary search (O(log n)); entries older than the retention are dropped as
keys are touched, and untouched keys by a sweep that runs after as many records as there
are keys (amortised O(1) per record). Identifiers (and application ids) are kept only as
keyed hashes (BLAKE2b), never in clear. ``InMemoryRiskStore`` keeps nothing else: it is
for unit tests and the in-process benchmark, and it loses everything on restart.

``DurableRiskStore`` (``taas_risk.durable``) keeps the same structures durable in the
tenant's own bucket.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Protocol

import numpy as np
import numpy.typing as npt
from taas_sdk import TenantStorage

from taas_risk.rules import MAX_WINDOW_S, BlacklistKind, RiskRules, VelocityKey

Clock = Callable[[], float]
log = logging.getLogger(__name__)

DIGEST_SIZE, KEY_SIZE = 16, 32


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


class StateUnavailable(Exception):
    """The tenant's stored state cannot be read or written: the call gets a 503.

    ``retryable`` is False when an object is corrupt (retrying does not help until it is
    repaired) and True when the storage failed (retry shortly).
    """

    def __init__(self, detail: str, hint: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint
        self.retryable = retryable


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

    def tenant(self, tenant_id: str, storage: TenantStorage | None = None) -> TenantRiskData:
        """The tenant's data. ``storage`` is the calling request's storage (that tenant's
        bucket): a store that persists loads and saves through it, and refuses None."""
        ...


@dataclass(frozen=True)
class HistorySnapshot:
    """A tenant's history as stored: hashes only, with the key that made them, packed in
    arrays (a large history has millions of times; a Python object each would make
    saving and loading slow)."""

    key: bytes
    sequence: int
    """Applications recorded so far (the next one gets ``sequence + 1``)."""
    last_at: float
    """The latest time recorded (time never runs backwards across a restart either)."""
    digests: bytes
    """The identifier hashes, ``DIGEST_SIZE`` bytes each."""
    counts: npt.NDArray[np.uint32]
    """Per identifier hash, how many of ``times`` and ``sequences`` are its own."""
    times: npt.NDArray[np.float64]
    sequences: npt.NDArray[np.int64]
    application_digests: bytes
    """Hashes of the application ids already recorded."""
    application_times: npt.NDArray[np.float64]


class _Timeline:
    """Times (ascending) and sequence numbers of the applications that carried one key."""

    __slots__ = ("sequences", "start", "times")

    def __init__(
        self, times: list[float] | None = None, sequences: list[int] | None = None
    ) -> None:
        self.times: list[float] = times if times is not None else []
        self.sequences: list[int] = sequences if sequences is not None else []
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
    """``TenantRiskData`` in process memory (lost on restart unless a durable store saves it).

    ``hash_key`` keys the identifier hashes: random unless given (the durable store gives
    the tenant's stored key so that a restored history still matches).
    """

    def __init__(self, clock: Clock, retention_s: float, hash_key: bytes | None = None) -> None:
        self._clock = clock
        self._retention_s = retention_s
        self._lock = threading.Lock()
        self._rules = RiskRules()
        self._blacklist: dict[tuple[str, str], BlacklistEntry] = {}
        self._timelines: dict[bytes, _Timeline] = {}
        self._recorded_ids: dict[bytes, float] = {}
        self._hash_key = hash_key if hash_key is not None else os.urandom(KEY_SIZE)
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

    def replace_blacklist(self, entries: Iterable[BlacklistEntry]) -> None:
        """Swap in a whole blacklist (as loaded from storage)."""
        table: dict[tuple[str, str], BlacklistEntry] = {(e.kind, e.value): e for e in entries}
        with self._lock:
            self._blacklist = table

    def blacklist(self, kind: BlacklistKind | None = None) -> list[BlacklistEntry]:
        with self._lock:
            entries = [e for e in self._blacklist.values() if kind is None or e.kind == kind]
        return sorted(entries, key=lambda e: (e.kind, e.value))

    def blacklisted(self, kind: BlacklistKind, value: str) -> BlacklistEntry | None:
        return self._blacklist.get((kind, value))

    def _digest(self, key: str, value: str) -> bytes:
        material = f"{key}\x00{value}".encode()
        return hashlib.blake2b(material, key=self._hash_key, digest_size=DIGEST_SIZE).digest()

    def record_application(
        self, keys: Mapping[VelocityKey, str], application_id: str | None = None
    ) -> float:
        recorded = None if application_id is None else self._digest("application", application_id)
        with self._lock:
            at = self._last_at = max(self._clock(), self._last_at)
            if recorded is not None and recorded in self._recorded_ids:
                return at
            self._sequence += 1
            expired = at - self._retention_s
            for key, value in keys.items():
                timeline = self._timelines.setdefault(self._digest(key, value), _Timeline())
                timeline.prune(expired)
                timeline.append(at, self._sequence)
            if recorded is not None:
                self._recorded_ids[recorded] = at
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

    @property
    def recorded(self) -> int:
        """Applications recorded so far: it changes exactly when the history does."""
        return self._sequence

    def export_history(self) -> HistorySnapshot:
        """The history, packed while the lock is held (one pass, no object per entry).
        Entries the retention has dropped are left out; keys left empty are dropped when
        the history is restored."""
        with self._lock:
            timelines = list(self._timelines.values())
            counts = np.fromiter((len(t) for t in timelines), dtype=np.uint32, count=len(timelines))
            total = int(counts.sum())
            live = [t.times[t.start :] if t.start else t.times for t in timelines]
            order = [t.sequences[t.start :] if t.start else t.sequences for t in timelines]
            return HistorySnapshot(
                key=self._hash_key,
                sequence=self._sequence,
                last_at=self._last_at,
                digests=b"".join(self._timelines),
                counts=counts,
                times=np.fromiter(chain.from_iterable(live), dtype=np.float64, count=total),
                sequences=np.fromiter(chain.from_iterable(order), dtype=np.int64, count=total),
                application_digests=b"".join(self._recorded_ids),
                application_times=np.fromiter(
                    self._recorded_ids.values(), dtype=np.float64, count=len(self._recorded_ids)
                ),
            )

    def restore_history(self, snapshot: HistorySnapshot) -> None:
        """Replace the history with a stored one made with this object's hash key."""
        if snapshot.key != self._hash_key:
            raise ValueError("the snapshot was made with another hash key")
        times, sequences = snapshot.times.tolist(), snapshot.sequences.tolist()
        timelines, start = {}, 0
        for index, count in enumerate(snapshot.counts.tolist()):
            digest = snapshot.digests[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE]
            end = start + count
            timelines[digest] = _Timeline(times[start:end], sequences[start:end])
            start = end
        applications = snapshot.application_digests
        recorded = {
            applications[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE]: at
            for i, at in enumerate(snapshot.application_times.tolist())
        }
        with self._lock:
            self._timelines, self._recorded_ids = timelines, recorded
            self._sequence = snapshot.sequence
            self._last_at = snapshot.last_at
            self._sweep(max(self._clock(), self._last_at) - self._retention_s)


class InMemoryRiskStore:
    """``RiskStore`` in process memory: one ``InMemoryTenantData`` per tenant id.

    It ignores the request's storage, so tests and benchmarks may leave it out.
    """

    def __init__(self, clock: Clock = time.time, retention_s: float = MAX_WINDOW_S) -> None:
        self._clock = clock
        self._retention_s = retention_s
        self._tenants: dict[str, InMemoryTenantData] = {}
        self._lock = threading.Lock()

    def tenant(self, tenant_id: str, storage: TenantStorage | None = None) -> InMemoryTenantData:
        if not tenant_id:
            raise ValueError("a tenant id is required")
        with self._lock:
            data = self._tenants.get(tenant_id)
            if data is None:
                data = self._tenants[tenant_id] = InMemoryTenantData(self._clock, self._retention_s)
            return data


# --------------------------------------------------------------------------- stored form
