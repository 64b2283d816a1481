"""The durable store's objects in the tenant's storage: what survives a restart, what a
corrupt or failing storage does, writes serialised, other processes' changes picked up."""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest
from taas_risk.durable import DurabilitySettings, DurableRiskStore
from taas_risk.rules import RiskRules, Scoring
from taas_risk.state_format import (
    BLACKLIST_KEY,
    HISTORY_KEY,
    REVISION_KEY,
    RULES_KEY,
    decode_history,
    encode_history,
)
from taas_risk.store import ManualClock, StateUnavailable
from taas_sdk.testing import MemoryStorage

HOUR = 3600.0
STRICT = RiskRules(scoring=Scoring(approve_from=600, reject_below=500))


def durable_store(
    clock: ManualClock, every_s: float = 10.0, refresh_s: float = 5.0
) -> DurableRiskStore:
    return DurableRiskStore(clock=clock, settings=DurabilitySettings(every_s, refresh_s))


class FlakyStorage(MemoryStorage):
    """Memory storage whose writes can be made to fail, or to take a while."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_puts = False
        self.put_delay_s = 0.0

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        if self.fail_puts:
            raise ConnectionError("storage is down")
        time.sleep(self.put_delay_s)
        super().put(key, data, content_type)


def test_a_new_tenant_gets_the_defaults_and_nothing_is_written(clock: ManualClock) -> None:
    storage = MemoryStorage()
    data = durable_store(clock).tenant("t1", storage)
    assert data.rules() == RiskRules()
    assert data.blacklist() == []
    assert data.count_since("phone", "13800138000", 0) == 0
    assert storage.objects == {}


def test_rules_and_blacklist_are_stored_before_the_call_returns(clock: ManualClock) -> None:
    storage = MemoryStorage()
    data = durable_store(clock).tenant("t1", storage)
    data.replace_rules(STRICT)
    data.add_to_blacklist("phone", "13800138000", "fraud")
    data.add_to_blacklist("device_id", "dev-1", "")
    assert json.loads(storage.get(RULES_KEY))["format"] == 1
    stored = json.loads(storage.get(BLACKLIST_KEY))
    assert [(e["kind"], e["value"]) for e in stored["entries"]] == [
        ("device_id", "dev-1"),
        ("phone", "13800138000"),
    ]
    assert data.remove_from_blacklist("device_id", "dev-1")
    assert not data.remove_from_blacklist("device_id", "dev-1")
    assert len(json.loads(storage.get(BLACKLIST_KEY))["entries"]) == 1

    restarted = durable_store(clock).tenant("t1", storage)
    assert restarted.rules() == STRICT
    entry = restarted.blacklisted("phone", "13800138000")
    assert entry is not None
    assert entry.reason == "fraud"
    assert restarted.blacklisted("device_id", "dev-1") is None


def test_the_history_snapshot_is_written_at_most_every_interval(clock: ManualClock) -> None:
    storage = MemoryStorage()
    data = durable_store(clock, every_s=10).tenant("t1", storage)
    data.record_application({"phone": "13800138000"})
    assert HISTORY_KEY not in storage.objects  # loaded just now: not due yet
    clock.advance(10)
    data.record_application({"phone": "13800138000"}, application_id="loan-1")
    first = storage.get(HISTORY_KEY)
    clock.advance(5)
    data.record_application({"phone": "13800138000"})
    assert storage.get(HISTORY_KEY) == first  # dirty, but the last write is 5 s old
    clock.advance(5)
    data.record_application({"phone": "13800138000"}, application_id="loan-1")  # a repeat
    assert storage.get(HISTORY_KEY) != first

    restarted = durable_store(clock).tenant("t1", storage)
    assert restarted.count_since("phone", "13800138000", 0) == 3
    restarted.record_application({"phone": "13800138000"}, application_id="loan-1")
    assert restarted.count_since("phone", "13800138000", 0) == 3  # still recorded once
    restarted.record_application({"phone": "13800138000"}, application_id="loan-2")
    assert restarted.count_since("phone", "13800138000", 0) == 4


def test_velocity_and_multi_lending_carry_over_a_restart(clock: ManualClock) -> None:
    storage = MemoryStorage()
    data = durable_store(clock, every_s=0).tenant("t1", storage)
    data.record_application({"id_number": "A", "phone": "P1"})
    data.record_application({"id_number": "B", "phone": "P1"})
    data.record_application({"id_number": "A", "phone": "P2", "bank_card": "C"})
    clock.advance(HOUR)
    restarted = durable_store(clock).tenant("t1", storage)
    assert restarted.applications_since({"id_number": "A", "phone": "P1"}, 0) == 3
    assert restarted.count_since("phone", "P1", clock() - 2 * HOUR) == 2
    assert restarted.count_since("phone", "P1", clock() - 0.5 * HOUR) == 0
    restarted.record_application({"id_number": "A"})
    assert restarted.applications_since({"id_number": "A", "phone": "P1"}, 0) == 4


def test_the_retention_still_applies_to_a_restored_history(clock: ManualClock) -> None:
    storage = MemoryStorage()
    store = DurableRiskStore(
        clock=clock, retention_s=10 * HOUR, settings=DurabilitySettings(snapshot_every_s=0)
    )
    data = store.tenant("t1", storage)
    for serial in range(20):
        data.record_application({"device_id": f"idle-{serial}"})
    clock.advance(5 * HOUR)
    data.record_application({"device_id": "busy"})
    clock.advance(6 * HOUR)
    restarted = DurableRiskStore(
        clock=clock, retention_s=10 * HOUR, settings=DurabilitySettings(snapshot_every_s=0)
    ).tenant("t1", storage)
    assert restarted.count_since("device_id", "idle-3", 0) == 0
    assert restarted.count_since("device_id", "busy", 0) == 1
    restarted.record_application({"device_id": "busy"})
    assert len(decode_history(storage.get(HISTORY_KEY)).counts) == 1  # only "busy" is left


def test_the_history_holds_hashes_only_with_a_persistent_key_per_tenant(
    clock: ManualClock,
) -> None:
    a, b = MemoryStorage(), MemoryStorage()
    store = durable_store(clock, every_s=0)
    for tenant, storage in (("t1", a), ("t2", b)):
        store.tenant(tenant, storage).record_application(
            {"id_number": "11010519491231002X"}, application_id="loan-0001"
        )
    raw = gzip.decompress(a.get(HISTORY_KEY))
    assert b"11010519491231002X" not in raw
    assert b"loan-0001" not in raw
    key_a, key_b = decode_history(a.get(HISTORY_KEY)).key, decode_history(b.get(HISTORY_KEY)).key
    assert key_a != key_b
    store.tenant("t1", a).record_application({"id_number": "11010519491231002X"})
    assert decode_history(a.get(HISTORY_KEY)).key == key_a  # the same key, kept


def test_the_history_format_round_trips_and_refuses_damage(clock: ManualClock) -> None:
    storage = MemoryStorage()
    data = durable_store(clock, every_s=0).tenant("t1", storage)
    for serial in range(5):
        data.record_application({"phone": f"P{serial}", "ip": "10.0.0.1"}, f"loan-{serial}")
        clock.advance(60)
    blob = storage.get(HISTORY_KEY)
    snapshot = decode_history(blob)
    assert snapshot.sequence == 5
    assert len(snapshot.counts) == 6
    assert int(snapshot.counts.sum()) == 10
    again = decode_history(encode_history(snapshot, clock()))
    assert again.digests == snapshot.digests
    assert again.application_digests == snapshot.application_digests
    for field in ("counts", "times", "sequences", "application_times"):
        assert getattr(again, field).tolist() == getattr(snapshot, field).tolist()
    raw = gzip.decompress(blob)
    for damaged in (b"", b"not gzip", gzip.compress(raw[:-3]), gzip.compress(raw + b"x")):
        with pytest.raises(ValueError, match=r"."):
            decode_history(damaged)
    header_end = raw.index(b"\n", raw.index(b"\n") + 1)
    header = json.loads(raw[raw.index(b"\n") + 1 : header_end])
    for change in ({"format": 2}, {"key": "c2hvcnQ="}, {"entries": 11}, {"sequence": -1}):
        forged = raw[: raw.index(b"\n") + 1] + json.dumps({**header, **change}).encode()
        with pytest.raises(ValueError, match=r"."):
            decode_history(gzip.compress(forged + raw[header_end:]))


@pytest.mark.parametrize(
    ("key", "content"),
    [
        (RULES_KEY, b"{not json"),
        (RULES_KEY, json.dumps({"format": 99, "rules": {}}).encode()),
        (
            RULES_KEY,
            json.dumps({"format": 1, "rules": {"scoring": {"approve_from": "x"}}}).encode(),
        ),
        (BLACKLIST_KEY, json.dumps({"format": 1, "entries": [{"kind": "email"}]}).encode()),
        (BLACKLIST_KEY, json.dumps([1, 2]).encode()),
        (HISTORY_KEY, b"\x1f\x8b garbage"),
    ],
)
def test_a_corrupt_object_is_a_503_and_is_never_overwritten(
    clock: ManualClock, key: str, content: bytes
) -> None:
    storage = MemoryStorage()
    storage.put(BLACKLIST_KEY, json.dumps({"format": 1, "entries": []}).encode())
    storage.put(key, content)
    before = dict(storage.objects)
    store = durable_store(clock, every_s=0)
    with pytest.raises(StateUnavailable) as raised:
        store.tenant("t1", storage)
    assert key in raised.value.detail
    assert f"risk/{key}" in raised.value.hint
    assert not raised.value.retryable
    with pytest.raises(StateUnavailable):
        store.tenant("t1", storage)  # every call tries again, none writes
    assert storage.objects == before
    storage.delete(key)  # an operator removes the damaged object
    assert store.tenant("t1", storage).blacklist() == []


def test_a_failing_storage_is_a_retryable_503_and_the_working_copy_is_unchanged(
    clock: ManualClock,
) -> None:
    storage = FlakyStorage()
    data = durable_store(clock, every_s=0).tenant("t1", storage)
    data.add_to_blacklist("phone", "13800138000", "fraud")
    storage.fail_puts = True
    with pytest.raises(StateUnavailable) as raised:
        data.replace_rules(STRICT)
    assert raised.value.retryable
    with pytest.raises(StateUnavailable):
        data.add_to_blacklist("phone", "13900000000", "")
    assert data.rules() == RiskRules()
    assert [e.value for e in data.blacklist()] == ["13800138000"]
    data.record_application({"phone": "13800138000"})  # a decision does not fail
    assert data.count_since("phone", "13800138000", 0) == 1
    assert HISTORY_KEY not in storage.objects


def test_concurrent_blacklist_writes_are_serialised_and_none_is_lost(clock: ManualClock) -> None:
    storage = FlakyStorage()
    storage.put_delay_s = 0.002  # widen the window a lost update would need
    store = durable_store(clock)
    phones = [f"1380013{serial:04d}" for serial in range(24)]

    def add(phone: str) -> None:
        store.tenant("t1", storage).add_to_blacklist("phone", phone, "")

    threads = [threading.Thread(target=add, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = json.loads(storage.get(BLACKLIST_KEY))["entries"]
    assert sorted(e["value"] for e in stored) == phones
    assert len(store.tenant("t1", storage).blacklist()) == len(phones)


def test_another_processes_changes_are_seen_after_the_refresh_interval(
    clock: ManualClock,
) -> None:
    storage = MemoryStorage()
    one, two = durable_store(clock, refresh_s=5), durable_store(clock, refresh_s=5)
    first, second = one.tenant("t1", storage), two.tenant("t1", storage)
    first.add_to_blacklist("phone", "13800138000", "fraud")
    first.replace_rules(STRICT)
    assert second.blacklisted("phone", "13800138000") is None  # its working copy
    clock.advance(5)
    second = two.tenant("t1", storage)
    assert second.blacklisted("phone", "13800138000") is not None
    assert second.rules() == STRICT
    # A blacklist change re-reads the stored list, so the other process's entry stays.
    second.add_to_blacklist("device_id", "dev-1", "")
    assert len(json.loads(storage.get(BLACKLIST_KEY))["entries"]) == 2
    revision = storage.get(REVISION_KEY)
    clock.advance(5)
    assert len(one.tenant("t1", storage).blacklist()) == 2
    assert storage.get(REVISION_KEY) == revision  # reading writes nothing


def test_the_durable_store_keeps_tenants_apart(clock: ManualClock) -> None:
    a, b = MemoryStorage(), MemoryStorage()
    store = durable_store(clock, every_s=0)
    mine = store.tenant("tenant-a", a)
    mine.add_to_blacklist("phone", "13800138000", "fraud")
    mine.replace_rules(STRICT)
    mine.record_application({"phone": "13800138000"})
    theirs = store.tenant("tenant-b", b)
    assert theirs.blacklist() == []
    assert theirs.rules() == RiskRules()
    assert theirs.count_since("phone", "13800138000", 0) == 0
    assert b.objects == {}
    assert {RULES_KEY, BLACKLIST_KEY, HISTORY_KEY, REVISION_KEY} == set(a.objects)


def test_the_durable_store_needs_the_requests_storage(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="storage"):
        durable_store(clock).tenant("t1")
    with pytest.raises(ValueError, match="tenant id"):
        durable_store(clock).tenant("", MemoryStorage())
