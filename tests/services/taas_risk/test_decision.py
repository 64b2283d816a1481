"""Every anti-fraud rule firing and not firing, cutoffs, and how reasons are put together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from taas_risk import examples, fraud
from taas_risk.decision import RiskService, window_text
from taas_risk.rules import BlacklistKind, RiskRules, Scoring
from taas_risk.schemas import Application, Decision
from taas_risk.store import InMemoryRiskStore, ManualClock

MakeApplication = Callable[..., Application]
HOUR, DAY = 3600, 86400


def id_number(serial: int) -> str:
    first17 = f"11010519900101{serial % 1000:03d}"
    return first17 + fraud.id_check_character(first17)


def codes(decision: Decision, kind: str = "rule") -> list[str]:
    return [r.code for r in decision.reasons if r.kind == kind]


def set_rules(store: InMemoryRiskStore, **changes: object) -> None:
    store.tenant("t").replace_rules(RiskRules.model_validate(changes))


def test_a_clean_safe_application_is_approved_with_adverse_factors_only(
    service: RiskService, make_application: MakeApplication
) -> None:
    decision = service.decide("t", make_application())
    assert decision.decision == "approve"
    assert codes(decision) == []
    assert codes(decision, "cutoff") == []
    assert decision.score >= Scoring().approve_from
    assert all(r.kind == "score" and r.points_below_best for r in decision.reasons)


@pytest.mark.parametrize(
    ("field", "bad_value", "code", "decision"),
    [
        ("id_number", "110105194912310021", "id_number.invalid", "reject"),
        ("id_number", "11010519491331002X", "id_number.invalid", "reject"),
        ("phone", "12345", "phone.invalid", "review"),
        ("bank_card", "6222021234567895", "bank_card.invalid", "review"),
    ],
)
def test_format_rules_fire_on_bad_identifiers(
    service: RiskService,
    make_application: MakeApplication,
    field: str,
    bad_value: str,
    code: str,
    decision: str,
) -> None:
    result = service.decide("t", make_application(**{field: bad_value}))
    assert codes(result) == [code]
    assert result.decision == decision
    rule = next(r for r in result.reasons if r.code == code)
    assert rule.action == decision
    assert rule.message[0].isupper()


def test_format_rules_can_be_switched_off_or_made_stricter(
    service: RiskService, store: InMemoryRiskStore, make_application: MakeApplication
) -> None:
    bad = make_application(id_number="110105194912310021", phone="12345")
    set_rules(store, id_number={"enabled": False}, phone={"action": "reject"})
    result = service.decide("t", bad)
    assert codes(result) == ["phone.invalid"]
    assert result.decision == "reject"


def test_an_absent_card_is_not_checked(
    service: RiskService, make_application: MakeApplication
) -> None:
    result = service.decide("t", make_application(bank_card=None))
    assert "bank_card.invalid" not in codes(result)


@pytest.mark.parametrize(
    ("kind", "listed", "sent"),
    [
        ("id_number", "11010519491231002x", {"id_number": "11010519491231002X"}),
        ("phone", "13800138000", {"phone": "+86 138-0013-8000"}),
        ("device_id", "DEVICE-1", {"device_id": "device-1"}),
    ],
)
def test_blacklisted_identifiers_reject(
    service: RiskService,
    store: InMemoryRiskStore,
    make_application: MakeApplication,
    kind: BlacklistKind,
    listed: str,
    sent: dict[str, str],
) -> None:
    normalise = {
        "id_number": fraud.normalize_id_number,
        "phone": fraud.normalize_phone,
        "device_id": fraud.normalize_device,
    }[kind]
    store.tenant("t").add_to_blacklist(kind, normalise(listed), "chargeback")
    result = service.decide("t", make_application(**sent))
    assert codes(result) == [f"blacklist.{kind}"]
    assert result.decision == "reject"
    assert "chargeback" in result.reasons[0].message
    assert service.decide("other-tenant", make_application(**sent)).decision == "approve"


def test_blacklist_rule_switched_off_lets_listed_phones_through(
    service: RiskService, store: InMemoryRiskStore, make_application: MakeApplication
) -> None:
    store.tenant("t").add_to_blacklist("phone", "13800138000", "")
    set_rules(store, blacklist={"enabled": False})
    assert codes(service.decide("t", make_application(phone="13800138000"))) == []


@pytest.mark.parametrize(
    ("key", "limit", "window_s"),
    [("id_number", 3, DAY), ("phone", 3, DAY), ("device_id", 5, DAY), ("ip", 20, HOUR)],
)
def test_velocity_fires_on_the_application_after_the_limit(
    service: RiskService,
    clock: ManualClock,
    make_application: MakeApplication,
    key: str,
    limit: int,
    window_s: int,
) -> None:
    shared = {
        "id_number": examples.APPLICANT["id_number"],
        "phone": "13800138000",
        "device_id": "dev-shared",
        "ip": "203.0.113.7",
    }[key]
    for serial in range(limit):
        distinct = {
            "id_number": id_number(serial),
            "phone": f"139{serial:08d}",
            "bank_card": None,
            "device_id": f"dev-{serial}",
            "ip": f"198.51.100.{serial}",
        }
        body = {**distinct, key: shared}
        result = service.decide("t", make_application(**body))
        assert codes(result) == [], f"application {serial + 1} is within the limit"
        clock.advance(60)
    body = {
        "id_number": id_number(999),
        "phone": "13999999999",
        "bank_card": None,
        "device_id": "dev-x",
        "ip": "198.51.100.250",
        key: shared,
    }
    over = service.decide("t", make_application(**body))
    assert codes(over) == [f"velocity.{key}"]
    assert over.decision == "review"
    assert f"{limit + 1} applications" in over.reasons[0].message
    assert window_text(window_s) in over.reasons[0].message
    clock.advance(window_s)  # the first applications leave the window
    body["id_number"], body["phone"] = id_number(998), "13999999998"
    body["device_id"], body["ip"] = "dev-y", "198.51.100.251"
    assert f"velocity.{key}" not in codes(service.decide("t", make_application(**body)))


def test_multi_lending_links_a_person_by_id_phone_or_card(
    service: RiskService, clock: ManualClock, make_application: MakeApplication
) -> None:
    person: dict[str, Any] = dict(examples.APPLICANT)
    variants: list[dict[str, Any]] = [
        {"device_id": "d1"},
        {"phone": "13711112222", "device_id": "d2"},  # same ID number and card
        {"id_number": id_number(5), "bank_card": None, "device_id": "d3"},  # same phone
        {"id_number": id_number(6), "phone": "13711113333", "device_id": "d4"},  # same card
    ]
    for variant in variants:
        result = service.decide("t", make_application(**{**person, "ip": None, **variant}))
        assert "multi_lending" not in codes(result)
        clock.advance(DAY)
    fifth = service.decide("t", make_application(**{**person, "ip": None, "device_id": "d5"}))
    assert "multi_lending" in codes(fifth)
    assert "5 applications in the last 30 days (limit 4)" in next(
        r.message for r in fifth.reasons if r.code == "multi_lending"
    )
    stranger = make_application(
        id_number=id_number(7), phone="13600000000", bank_card=None, device_id="d6", ip=None
    )
    assert "multi_lending" not in codes(service.decide("t", stranger))


def test_multi_lending_off_and_velocity_off(
    service: RiskService, store: InMemoryRiskStore, make_application: MakeApplication
) -> None:
    set_rules(store, multi_lending={"enabled": False}, velocity=[])
    for _ in range(10):
        result = service.decide("t", make_application())
    assert codes(result) == []


def test_the_same_application_id_does_not_count_twice(
    service: RiskService, make_application: MakeApplication
) -> None:
    for _ in range(6):
        result = service.decide("t", make_application(application_id="loan-1"))
    assert codes(result) == []
    assert result.application_id == "loan-1"


def test_rejecting_rules_come_first_and_every_hit_is_a_reason(
    service: RiskService, store: InMemoryRiskStore, make_application: MakeApplication
) -> None:
    store.tenant("t").add_to_blacklist("device_id", "bad-device", "")
    result = service.decide(
        "t",
        make_application(
            credit=examples.RISKY_PROFILE,
            phone="12345",
            id_number="110105194912310021",
            bank_card="4111111111111112",
            device_id="bad-device",
        ),
    )
    assert result.decision == "reject"
    assert codes(result)[:2] == ["id_number.invalid", "blacklist.device_id"]
    assert set(codes(result)) == {
        "id_number.invalid",
        "blacklist.device_id",
        "phone.invalid",
        "bank_card.invalid",
    }
    kinds = [r.kind for r in result.reasons]
    assert kinds == sorted(kinds, key=["rule", "cutoff", "score"].index)
    assert codes(result, "cutoff") == ["cutoff.reject"]


@pytest.mark.parametrize(
    ("profile", "expected", "cutoff"),
    [
        (examples.SAFE_PROFILE, "approve", []),
        (examples.MIDDLE_PROFILE, "review", ["cutoff.review"]),
        (examples.RISKY_PROFILE, "reject", ["cutoff.reject"]),
    ],
)
def test_cutoffs_turn_scores_into_decisions(
    service: RiskService,
    make_application: MakeApplication,
    profile: dict[str, object],
    expected: str,
    cutoff: list[str],
) -> None:
    result = service.decide("t", make_application(credit=profile))
    assert result.decision == expected
    assert codes(result, "cutoff") == cutoff


def test_a_tenants_cutoffs_and_scaling_apply_to_it_only(
    service: RiskService, store: InMemoryRiskStore, make_application: MakeApplication
) -> None:
    middle = make_application(credit=examples.MIDDLE_PROFILE)
    default = service.decide("other", middle)
    set_rules(store, scoring={"base_score": 800, "approve_from": 700, "reject_below": 650})
    mine = service.decide("t", middle)
    assert mine.score == pytest.approx(default.score + 200, abs=0.11)
    assert mine.probability_bad == default.probability_bad
    assert mine.decision == "approve"
    assert service.decide("other", middle).decision == "review"


def test_score_reasons_match_the_points(
    service: RiskService, store: InMemoryRiskStore, make_application: MakeApplication
) -> None:
    set_rules(store, scoring={"top_reasons": 10})
    result = service.decide("t", make_application(credit=examples.RISKY_PROFILE))
    card = service.scorecard
    raw = card.score(examples.RISKY_PROFILE, Scoring().scaling, top_n=10)
    score_reasons = [r for r in result.reasons if r.kind == "score"]
    assert [r.code for r in score_reasons] == [f"score.{f.variable}" for f in raw.reasons]
    for reason, factor in zip(score_reasons, raw.reasons, strict=True):
        assert reason.points_below_best == pytest.approx(factor.shortfall, abs=0.05)
        assert reason.message == card.describe(factor)
    assert result.score == pytest.approx(raw.score, abs=0.05)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (86400, "24 hours"),
        (3600, "1 hour"),
        (30 * 86400, "30 days"),
        (90, "90 seconds"),
        (120, "2 minutes"),
    ],
)
def test_windows_in_words(seconds: int, text: str) -> None:
    assert window_text(seconds) == text
