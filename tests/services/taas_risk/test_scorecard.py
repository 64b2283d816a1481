"""Scaling, points, reasons and vectorised scoring of the shipped scorecard."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from taas_risk import examples
from taas_risk.scorecard import MIN_REASON_POINTS, Scaling, Scorecard


def test_scaling_puts_base_odds_at_base_score_and_pdo_per_doubling() -> None:
    scaling = Scaling(base_score=600, base_odds=1 / 50, pdo=20)
    assert scaling.points(math.log(1 / 50)) == pytest.approx(600)
    assert scaling.points(math.log(2 / 50)) == pytest.approx(580)  # twice the bad odds
    assert scaling.points(math.log(1 / 100)) == pytest.approx(620)  # half the bad odds
    assert scaling.log_odds(scaling.points(-1.3)) == pytest.approx(-1.3)
    assert scaling.factor == pytest.approx(20 / math.log(2))
    assert scaling.offset == pytest.approx(600 + 20 / math.log(2) * math.log(1 / 50))


def test_the_shipped_model_is_a_sane_scorecard(card: Scorecard) -> None:
    assert len(card.variables) >= 5
    assert all(v.coefficient > 0 for v in card.variables)
    assert card.metadata["holdout"]["auc"] > 0.7
    names = {v.bins.name for v in card.variables}
    assert not names & {"personal_status_and_sex", "foreign_worker"}


def test_score_is_base_points_plus_variable_points(card: Scorecard) -> None:
    scaling = Scaling()
    result = card.score(examples.RISKY_PROFILE, scaling)
    table = card.points_table(scaling)
    assert result.score == pytest.approx(table.base_points + sum(f.points for f in result.factors))
    log_odds = card.intercept + sum(
        v.coefficient * v.woes[v.bins.index_of(examples.RISKY_PROFILE[v.bins.name])]
        for v in card.variables
    )
    assert result.score == pytest.approx(scaling.points(log_odds))
    assert result.probability_bad == pytest.approx(1 / (1 + math.exp(-log_odds)))


@pytest.mark.parametrize(
    "profile", [examples.SAFE_PROFILE, examples.MIDDLE_PROFILE, examples.RISKY_PROFILE]
)
def test_reasons_are_the_largest_shortfalls_in_order(
    card: Scorecard, profile: dict[str, Any]
) -> None:
    result = card.score(profile, Scaling(), top_n=3)
    shortfalls = [r.shortfall for r in result.reasons]
    assert shortfalls == sorted(shortfalls, reverse=True)
    assert all(s >= MIN_REASON_POINTS for s in shortfalls)
    left_out = [f for f in result.factors if f not in result.reasons]
    if len(result.reasons) == 3:
        assert all(f.shortfall <= shortfalls[-1] for f in left_out)
    else:
        assert all(f.shortfall < MIN_REASON_POINTS for f in left_out)
    for reason in result.reasons:
        text = card.describe(reason)
        assert f"{reason.shortfall:.0f} points below the best group" in text
        assert str(profile[reason.variable]) in text


def test_an_applicant_in_every_best_bin_has_no_reasons(card: Scorecard) -> None:
    best: dict[str, Any] = dict(examples.SAFE_PROFILE)
    for variable in card.variables:
        top = max(variable.bins.bins, key=lambda b: -b.woe)
        best[variable.bins.name] = top.categories[0] if top.categories else (top.lower or 0) + 0.5
    result = card.score(best, Scaling())
    assert result.reasons == ()
    assert result.score == pytest.approx(
        card.points_table(Scaling()).base_points + float(card.points_table(Scaling()).best.sum())
    )


def test_riskier_profile_scores_lower(card: Scorecard) -> None:
    safe = card.score(examples.SAFE_PROFILE, Scaling())
    risky = card.score(examples.RISKY_PROFILE, Scaling())
    assert safe.score > risky.score
    assert safe.probability_bad < risky.probability_bad


def test_scaling_moves_points_but_not_the_probability(card: Scorecard) -> None:
    default = card.score(examples.MIDDLE_PROFILE, Scaling())
    other = card.score(examples.MIDDLE_PROFILE, Scaling(base_score=700, base_odds=1 / 20, pdo=40))
    assert other.score != pytest.approx(default.score)
    assert other.probability_bad == pytest.approx(default.probability_bad)
    assert [r.variable for r in other.reasons] == [r.variable for r in default.reasons]


def test_missing_and_unseen_values_score_neutral(card: Scorecard) -> None:
    profile: dict[str, Any] = dict(examples.SAFE_PROFILE)
    profile["purpose"] = "time machine"
    del profile["checking_account"]
    result = card.score(profile, Scaling())
    by_name = {f.variable: f for f in result.factors}
    assert by_name["purpose"].points == 0.0
    assert by_name["checking_account"].points == 0.0


def test_vectorised_scores_match_one_by_one(card: Scorecard) -> None:
    profiles = [examples.SAFE_PROFILE, examples.MIDDLE_PROFILE, examples.RISKY_PROFILE]
    columns = {
        v.bins.name: np.array([p[v.bins.name] for p in profiles], dtype=object)
        for v in card.variables
    }
    for v in card.variables:
        if v.bins.kind == "numeric":
            columns[v.bins.name] = columns[v.bins.name].astype(np.float64)
    many = card.score_many(columns, Scaling(), top_n=4)
    for row, profile in enumerate(profiles):
        one = card.score(profile, Scaling(), top_n=4)
        assert many.score[row] == pytest.approx(one.score)
        assert many.probability_bad[row] == pytest.approx(one.probability_bad)
        names = [card.variables[i].bins.name for i in many.reasons[row] if i >= 0]
        assert names == [r.variable for r in one.reasons]
        assert list(many.reason_shortfalls[row][: len(names)]) == pytest.approx(
            [r.shortfall for r in one.reasons]
        )


def test_json_round_trip(card: Scorecard) -> None:
    again = Scorecard.from_dict(card.to_dict())
    assert again.to_dict() == card.to_dict()
    assert again.score(examples.RISKY_PROFILE, Scaling()).score == pytest.approx(
        card.score(examples.RISKY_PROFILE, Scaling()).score
    )


def test_a_file_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="not a taas-risk-scorecard/1 model"):
        Scorecard.from_dict({"format": "something-else"})
