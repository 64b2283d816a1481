"""Rule configuration: defaults, validation, scaling."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from taas_risk.rules import MAX_WINDOW_S, RiskRules, Scoring
from taas_risk.scorecard import Scaling


def test_defaults_turn_every_check_on() -> None:
    rules = RiskRules()
    assert rules.id_number.enabled
    assert rules.id_number.action == "reject"
    assert all(c.enabled for c in (rules.phone, rules.bank_card, rules.blacklist))
    assert {v.key for v in rules.velocity} == {"id_number", "phone", "device_id", "ip"}
    assert rules.multi_lending.enabled
    assert rules.scoring.approve_from > rules.scoring.reject_below


def test_partial_documents_fill_in_defaults() -> None:
    rules = RiskRules.model_validate({"scoring": {"approve_from": 560}})
    assert rules.scoring.approve_from == 560
    assert rules.scoring.reject_below == Scoring().reject_below
    assert rules.velocity == RiskRules().velocity


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"scoring": {"approve_from": 400, "reject_below": 500}}, "approve_from must be"),
        ({"scoring": {"pdo": 0}}, "greater than 0"),
        ({"velocity": [{"key": "email", "window_s": 60, "max_applications": 1}]}, "key"),
        ({"velocity": [{"key": "ip", "window_s": 10, "max_applications": 1}]}, "window_s"),
        (
            {"velocity": [{"key": "ip", "window_s": MAX_WINDOW_S + 1, "max_applications": 1}]},
            "window_s",
        ),
        ({"velocity": [{"key": "ip", "window_s": 60, "max_applications": 0}]}, "max_applications"),
        ({"phone": {"action": "ignore"}}, "action"),
        ({"blacklist": {"enabled": True, "colour": "red"}}, "Extra inputs"),
        ({"unknown_rule": {}}, "Extra inputs"),
    ],
)
def test_invalid_rules_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RiskRules.model_validate(document)


def test_scoring_gives_its_scaling() -> None:
    scoring = Scoring(base_score=700, base_odds=0.1, pdo=40)
    assert scoring.scaling == Scaling(700, 0.1, 40)
