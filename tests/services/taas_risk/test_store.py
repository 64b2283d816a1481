"""The in-memory store: rolling windows, retention, deduplication, tenants kept apart."""

from __future__ import annotations

from taas_risk.rules import RiskRules, Scoring
from taas_risk.store import InMemoryRiskStore, ManualClock

HOUR = 3600.0
STRICT = RiskRules(scoring=Scoring(approve_from=600, reject_below=500))


def test_counts_follow_the_rolling_window(store: InMemoryRiskStore, clock: ManualClock) -> None:
    data = store.tenant("t1")
    for _ in range(3):
        data.record_application({"phone": "13800138000"})
        clock.advance(HOUR)
    now = clock()
    assert data.count_since("phone", "13800138000", now - 24 * HOUR) == 3
    assert data.count_since("phone", "13800138000", now - 2 * HOUR) == 2  # at -2h and -1h
    assert data.count_since("phone", "13800138000", now - 0.5 * HOUR) == 0
    assert data.count_since("phone", "13900000000", now - 24 * HOUR) == 0
    assert data.count_since("ip", "13800138000", now - 24 * HOUR) == 0  # keys are per kind


def test_an_application_id_is_recorded_once(store: InMemoryRiskStore, clock: ManualClock) -> None:
    data = store.tenant("t1")
    for _ in range(3):
        data.record_application({"id_number": "X"}, application_id="loan-1")
    data.record_application({"id_number": "X"}, application_id="loan-2")
    assert data.count_since("id_number", "X", 0) == 2


def test_people_are_linked_by_any_identifier_and_counted_once(store: InMemoryRiskStore) -> None:
    data = store.tenant("t1")
    data.record_application({"id_number": "A", "phone": "P1"})
    data.record_application({"id_number": "B", "phone": "P1"})  # same phone, other ID
    data.record_application({"id_number": "A", "phone": "P2", "bank_card": "C"})
    data.record_application({"id_number": "Z", "phone": "P9"})
    assert data.applications_since({"id_number": "A", "phone": "P1"}, 0) == 3
    assert data.applications_since({"bank_card": "C"}, 0) == 1
    assert data.applications_since({"id_number": "Q"}, 0) == 0


def test_old_history_is_dropped_after_the_retention(clock: ManualClock) -> None:
    store = InMemoryRiskStore(clock=clock, retention_s=10 * HOUR)
    data = store.tenant("t1")
    for serial in range(50):
        data.record_application({"device_id": f"idle-{serial}"})
    data.record_application({"device_id": "busy"})
    assert data.size() == 51
    clock.advance(11 * HOUR)
    for _ in range(60):  # enough records to trigger the sweep of untouched keys
        data.record_application({"device_id": "busy"})
    assert data.size() == 1
    assert data.count_since("device_id", "busy", 0) == 60
    assert data.count_since("device_id", "idle-3", 0) == 0


def test_time_never_runs_backwards(store: InMemoryRiskStore, clock: ManualClock) -> None:
    data = store.tenant("t1")
    first = data.record_application({"ip": "1.2.3.4"})
    clock.advance(-100)  # the wall clock stepped back
    second = data.record_application({"ip": "1.2.3.4"})
    assert second >= first
    assert data.count_since("ip", "1.2.3.4", first) == 2


def test_identifiers_are_not_kept_in_clear(store: InMemoryRiskStore) -> None:
    data = store.tenant("t1")
    data.record_application({"id_number": "11010519491231002X"})
    assert all(b"11010519491231002X" not in key for key in data._timelines)


def test_tenants_share_nothing(store: InMemoryRiskStore) -> None:
    a, b = store.tenant("tenant-a"), store.tenant("tenant-b")
    a.add_to_blacklist("phone", "13800138000", "fraud")
    a.record_application({"phone": "13800138000"})
    a.replace_rules(RiskRules(scoring=Scoring(approve_from=600, reject_below=500)))
    assert b.blacklisted("phone", "13800138000") is None
    assert b.blacklist() == []
    assert b.count_since("phone", "13800138000", 0) == 0
    assert b.rules() == RiskRules()
    assert store.tenant("tenant-a") is a


def test_blacklist_add_update_list_remove(store: InMemoryRiskStore) -> None:
    data = store.tenant("t1")
    data.add_to_blacklist("phone", "13800138000", "first")
    data.add_to_blacklist("phone", "13800138000", "updated")
    data.add_to_blacklist("device_id", "dev-1", "")
    assert [(e.kind, e.value, e.reason) for e in data.blacklist()] == [
        ("device_id", "dev-1", ""),
        ("phone", "13800138000", "updated"),
    ]
    assert [e.value for e in data.blacklist("phone")] == ["13800138000"]
    assert data.remove_from_blacklist("phone", "13800138000")
    assert not data.remove_from_blacklist("phone", "13800138000")
    assert data.blacklisted("phone", "13800138000") is None
