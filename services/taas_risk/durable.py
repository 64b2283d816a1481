"""Risk state kept in the tenant's own bucket (see ``taas_risk.store`` for the API; the
stored objects' format is ``taas_risk.state_format``).

**Durable** (``DurableRiskStore``, the app's default). The in-memory structures stay the
working copy, so a decision costs what it costs in memory; the state is saved through
the calling request's ``TenantStorage``, i.e. in that tenant's own bucket under the
module's prefix (``risk/state/...``), with credentials that reach no other tenant:

- ``state/rules.json`` and ``state/blacklist.json`` (JSON with a ``format`` number) are
  written through on every change, under a per-tenant lock, before the change is
  answered: a 2xx means the change is stored. A blacklist change re-reads the stored
  list first, so changes made through another replica are kept.
- ``state/history.bin.gz`` holds the history (hashes, times, and the tenant's hash key).
  It is written, after a decision, when it changed and the last write is at least
  ``snapshot_every_s`` old. **Up to that many seconds of velocity history (plus the time
  until the tenant's next decision) can be lost on a crash or restart.** The hashes are
  only as strong as the key's secrecy: the key is stored only in this object, in the
  tenant's bucket, so whoever can read that object can test guesses of identifiers.
- ``state/revision.json`` changes on every rules or blacklist write; every
  ``refresh_s`` one request reads it (one small GET) and reloads rules and blacklist if
  another process changed them.

Everything is loaded on the tenant's first request in this process. A missing object
means the defaults (no blacklist, no history). An object that cannot be read or parsed
makes the tenant's calls fail with ``StateUnavailable`` (503), and nothing is written
over it: a bank's blacklist is never silently reset to empty.

Limits with several replicas: each process holds its own working copy. Rules and
blacklist changes made through another replica are seen within ``refresh_s``; two
replicas changing the blacklist at the same instant can still lose one change (the
storage interface has no compare-and-swap). The history is per process: velocity counts
only the applications this replica saw since it loaded, and the replicas' snapshots
overwrite each other, so after a restart the last writer's history is the one loaded.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from taas_sdk import TenantStorage

from taas_risk.rules import MAX_WINDOW_S, BlacklistKind, RiskRules, VelocityKey
from taas_risk.state_format import (
    BLACKLIST_KEY,
    FORMAT,
    HISTORY_KEY,
    REVISION_KEY,
    RULES_KEY,
    blacklist_document,
    decode_history,
    encode_history,
    parse_blacklist,
    parse_rules,
    rules_document,
)
from taas_risk.store import (
    BlacklistEntry,
    Clock,
    HistorySnapshot,
    InMemoryTenantData,
    StateUnavailable,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DurabilitySettings:
    """How often the durable store writes the history and checks for others' changes."""

    snapshot_every_s: float = 10.0
    """Least time between two history writes of a tenant (``TAAS_RISK_SNAPSHOT_S``); up to
    this much history can be lost on a crash. 0 writes after every decision."""
    refresh_s: float = 5.0
    """How often a process checks whether another one changed the tenant's rules or
    blacklist (``TAAS_RISK_REFRESH_S``); one small GET each time."""

    @classmethod
    def from_env(cls) -> DurabilitySettings:
        return cls(
            snapshot_every_s=float(os.environ.get("TAAS_RISK_SNAPSHOT_S", cls.snapshot_every_s)),
            refresh_s=float(os.environ.get("TAAS_RISK_REFRESH_S", cls.refresh_s)),
        )


def _corrupt(tenant_id: str, key: str, problem: Exception) -> StateUnavailable:
    log.error("tenant %s: the risk state object %s is corrupt: %s", tenant_id, key, problem)
    return StateUnavailable(
        f"the tenant's stored risk state '{key}' cannot be read: {str(problem)[:200]}",
        hint=f"repair or remove risk/{key} in the tenant's bucket (the module will not "
        "overwrite it); removing it resets that part to the defaults",
        retryable=False,
    )


def _failed(tenant_id: str, key: str, action: str, problem: Exception) -> StateUnavailable:
    log.warning("tenant %s: could not %s risk state %s: %r", tenant_id, action, key, problem)
    return StateUnavailable(
        f"the tenant's storage did not answer ({action} {key})",
        hint="retry in a few seconds",
        retryable=True,
    )


def _read(tenant_id: str, storage: TenantStorage, key: str) -> bytes | None:
    """The object, None if there is none; storage failures become ``StateUnavailable``."""
    try:
        return storage.get(key)
    except HTTPException as exc:
        if exc.status_code == 404:
            return None
        raise _failed(tenant_id, key, "read", exc) from exc
    except Exception as exc:
        raise _failed(tenant_id, key, "read", exc) from exc


def _write(tenant_id: str, storage: TenantStorage, key: str, data: bytes, kind: str) -> None:
    try:
        storage.put(key, data, kind)
    except Exception as exc:
        raise _failed(tenant_id, key, "write", exc) from exc


class _TenantState:
    """One tenant's working copy in this process and the bookkeeping of its saves."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.data: InMemoryTenantData | None = None
        self.load_lock = threading.Lock()
        self.write_lock = threading.Lock()
        """Serialises the rules and blacklist writes (and refreshes) of this tenant."""
        self.snapshot_lock = threading.Lock()
        self.revision: str | None = None
        """The stored revision the working rules and blacklist match (None: unknown)."""
        self.checked_at = 0.0
        self.saved_at = 0.0
        self.saved_sequence = 0


class DurableRiskStore:
    """``RiskStore`` whose working copy is in memory and whose state is in each tenant's
    bucket (see the module docstring for what is stored, when, and the limits)."""

    def __init__(
        self,
        clock: Clock = time.time,
        retention_s: float = MAX_WINDOW_S,
        settings: DurabilitySettings | None = None,
    ) -> None:
        self._clock = clock
        self._retention_s = retention_s
        self.settings = settings or DurabilitySettings()
        self._tenants: dict[str, _TenantState] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def tenant(self, tenant_id: str, storage: TenantStorage | None = None) -> StoredTenantData:
        """The tenant's data, loaded through ``storage`` on its first request here."""
        if not tenant_id:
            raise ValueError("a tenant id is required")
        if storage is None:
            raise ValueError("the durable store needs the calling request's tenant storage")
        with self._lock:
            state = self._tenants.setdefault(tenant_id, _TenantState(tenant_id))
        data = state.data
        if data is None:
            data = self._load(state, storage)
        elif self._clock() - state.checked_at >= self.settings.refresh_s:
            self._refresh(state, data, storage)
        return StoredTenantData(self, state, data, storage)

    def _load(self, state: _TenantState, storage: TenantStorage) -> InMemoryTenantData:
        with state.load_lock:
            if state.data is not None:
                return state.data
            revision = self._read_revision(state, storage)
            rules, entries = self.read_rules(state, storage), self.read_blacklist(state, storage)
            history = self._read_history(state, storage)
            data = InMemoryTenantData(
                self._clock, self._retention_s, hash_key=history.key if history else None
            )
            if history is not None:
                data.restore_history(history)
            data.replace_rules(rules)
            data.replace_blacklist(entries)
            state.revision, state.checked_at = revision, self._clock()
            state.saved_at, state.saved_sequence = self._clock(), data.recorded
            state.data = data
            return data

    def _refresh(
        self, state: _TenantState, data: InMemoryTenantData, storage: TenantStorage
    ) -> None:
        """Reload rules and blacklist if another process changed them. A request that
        finds a write or another refresh under way goes on with the working copy, and so
        does one whose storage fails; a corrupt object is a 503 (as on a first load)."""
        if not state.write_lock.acquire(blocking=False):
            return
        try:
            revision = self._read_revision(state, storage)
            if revision != state.revision:
                rules = self.read_rules(state, storage)
                entries = self.read_blacklist(state, storage)
                data.replace_rules(rules)
                data.replace_blacklist(entries)
                state.revision = revision
        except StateUnavailable as exc:
            if not exc.retryable:
                raise  # checked_at unchanged: the next request checks again
        finally:
            state.write_lock.release()
        state.checked_at = self._clock()

    def _read_revision(self, state: _TenantState, storage: TenantStorage) -> str:
        """The change marker as stored (compared as is, never parsed; "" if none)."""
        blob = _read(state.tenant_id, storage, REVISION_KEY)
        return "" if blob is None else blob.decode("utf-8", "replace")

    def read_rules(self, state: _TenantState, storage: TenantStorage) -> RiskRules:
        blob = _read(state.tenant_id, storage, RULES_KEY)
        if blob is None:
            return RiskRules()
        try:
            return parse_rules(blob)
        except ValueError as exc:
            raise _corrupt(state.tenant_id, RULES_KEY, exc) from exc

    def read_blacklist(self, state: _TenantState, storage: TenantStorage) -> list[BlacklistEntry]:
        blob = _read(state.tenant_id, storage, BLACKLIST_KEY)
        if blob is None:
            return []
        try:
            return parse_blacklist(blob)
        except ValueError as exc:
            raise _corrupt(state.tenant_id, BLACKLIST_KEY, exc) from exc

    def _read_history(self, state: _TenantState, storage: TenantStorage) -> HistorySnapshot | None:
        blob = _read(state.tenant_id, storage, HISTORY_KEY)
        if blob is None:
            return None
        try:
            return decode_history(blob)
        except ValueError as exc:
            raise _corrupt(state.tenant_id, HISTORY_KEY, exc) from exc

    def write_document(
        self,
        state: _TenantState,
        storage: TenantStorage,
        key: str,
        document: bytes,
        then: Callable[[], None],
    ) -> None:
        """Write a rules or blacklist document; once it is stored, ``then`` updates the
        working copy and the change is marked for other processes. The caller holds
        ``state.write_lock``."""
        _write(state.tenant_id, storage, key, document, "application/json")
        then()
        state.revision = None  # re-read once at the next refresh, in case others wrote too
        marker = json.dumps({"format": FORMAT, "revision": uuid.uuid4().hex}).encode()
        _write(state.tenant_id, storage, REVISION_KEY, marker, "application/json")

    def save_history_if_due(
        self, state: _TenantState, data: InMemoryTenantData, storage: TenantStorage
    ) -> None:
        """Write the history if it changed and the last write is old enough. Called after
        every decision: the check is two comparisons. A failed write is logged, not raised:
        the decision stands and the next one due tries again."""
        every = self.settings.snapshot_every_s
        if data.recorded == state.saved_sequence or self._clock() - state.saved_at < every:
            return
        if not state.snapshot_lock.acquire(blocking=False):
            return  # another request of this tenant is writing it
        try:
            if data.recorded == state.saved_sequence or self._clock() - state.saved_at < every:
                return
            now = self._clock()
            snapshot = data.export_history()
            try:
                _write(
                    state.tenant_id,
                    storage,
                    HISTORY_KEY,
                    encode_history(snapshot, now),
                    "application/gzip",
                )
            except StateUnavailable:
                state.saved_at = now  # try again one interval later
                return
            state.saved_at, state.saved_sequence = now, snapshot.sequence
        finally:
            state.snapshot_lock.release()


_Table = dict[tuple[str, str], BlacklistEntry]


class StoredTenantData:
    """``TenantRiskData`` of the durable store for one request: reads come from the
    working copy; changes are written through the request's storage first."""

    def __init__(
        self,
        store: DurableRiskStore,
        state: _TenantState,
        data: InMemoryTenantData,
        storage: TenantStorage,
    ) -> None:
        self._store, self._state, self._data, self._storage = store, state, data, storage

    def rules(self) -> RiskRules:
        return self._data.rules()

    def replace_rules(self, rules: RiskRules) -> None:
        with self._state.write_lock:
            document = rules_document(rules)
            self._store.write_document(
                self._state,
                self._storage,
                RULES_KEY,
                document,
                lambda: self._data.replace_rules(rules),
            )

    def _change_blacklist(self, change: Callable[[_Table], bool]) -> None:
        """Re-read the stored list (keeping other processes' changes), apply ``change``,
        write the list if it changed, and only then let decisions see it."""
        with self._state.write_lock:
            stored = self._store.read_blacklist(self._state, self._storage)
            table: _Table = {(e.kind, e.value): e for e in stored}
            if not change(table):
                self._data.replace_blacklist(table.values())
                return
            document = blacklist_document(table.values())
            self._store.write_document(
                self._state,
                self._storage,
                BLACKLIST_KEY,
                document,
                lambda: self._data.replace_blacklist(table.values()),
            )

    def add_to_blacklist(self, kind: BlacklistKind, value: str, reason: str) -> BlacklistEntry:
        entry = BlacklistEntry(kind, value, reason, self._store.now())

        def add(table: _Table) -> bool:
            table[(kind, value)] = entry
            return True

        self._change_blacklist(add)
        return entry

    def remove_from_blacklist(self, kind: BlacklistKind, value: str) -> bool:
        removed: list[BlacklistEntry] = []

        def remove(table: _Table) -> bool:
            removed.extend(filter(None, [table.pop((kind, value), None)]))
            return bool(removed)

        self._change_blacklist(remove)
        return bool(removed)

    def blacklist(self, kind: BlacklistKind | None = None) -> list[BlacklistEntry]:
        return self._data.blacklist(kind)

    def blacklisted(self, kind: BlacklistKind, value: str) -> BlacklistEntry | None:
        return self._data.blacklisted(kind, value)

    def record_application(
        self, keys: Mapping[VelocityKey, str], application_id: str | None = None
    ) -> float:
        at = self._data.record_application(keys, application_id)
        self._store.save_history_if_due(self._state, self._data, self._storage)
        return at

    def count_since(self, key: VelocityKey, value: str, since: float) -> int:
        return self._data.count_since(key, value, since)

    def applications_since(self, keys: Mapping[VelocityKey, str], since: float) -> int:
        return self._data.applications_since(keys, since)
