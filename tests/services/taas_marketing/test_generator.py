"""The synthetic data generator: seeded, exact sizes, profiles as declared, no algorithm."""

from __future__ import annotations

import ast
import inspect
import io

import pandas as pd
import pytest
from taas_marketing import generator
from taas_marketing.generator import AS_OF, PROFILES, generate


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    first, again, other = generate(600, seed=3), generate(600, seed=3), generate(600, seed=4)
    pd.testing.assert_frame_equal(first.transactions, again.transactions)
    pd.testing.assert_series_equal(first.truth, again.truth)
    assert not first.transactions.equals(other.transactions)


def test_sizes_are_exact_and_every_customer_bought_at_least_once() -> None:
    data = generate(1_000, 9_000, seed=1)
    assert len(data.transactions) == 9_000
    assert data.transactions["customer_id"].nunique() == 1_000
    assert set(data.truth.index) == set(data.transactions["customer_id"])
    shares = data.truth.value_counts(normalize=True)
    for profile in PROFILES:
        assert shares[profile.name] == pytest.approx(profile.share, abs=0.01)


def test_each_profile_has_the_recency_and_tenure_it_declares() -> None:
    data = generate(2_000, seed=2)
    days_ago = (pd.Timestamp(AS_OF) - data.transactions["date"]).dt.days
    per_customer = days_ago.groupby(data.transactions["customer_id"]).agg(["min", "max"])
    per_customer["profile"] = data.truth
    for profile in PROFILES:
        mine = per_customer[per_customer["profile"] == profile.name]
        assert mine["max"].between(profile.tenure_days[0] - 1, profile.tenure_days[1] + 1).all()
        capped = mine["min"].clip(upper=profile.recency_days[1] + 1)
        assert (capped >= profile.recency_days[0] - 1).all(), profile.name
        assert (mine["min"] <= mine["max"]).all()


def test_growing_customers_spend_more_late_and_at_risk_ones_less() -> None:
    data = generate(3_000, seed=5)
    frame = data.transactions.assign(
        profile=data.truth.loc[data.transactions["customer_id"]].to_numpy()
    )
    first_last = (
        frame.sort_values("date")
        .groupby("customer_id")
        .agg(first=("amount", "first"), last=("amount", "last"), profile=("profile", "first"))
    )
    ratio = (first_last["last"] / first_last["first"]).groupby(first_last["profile"]).median()
    assert ratio["growing"] > 1.5
    assert ratio["at risk"] < 0.9


def test_the_csv_is_what_a_bank_uploads() -> None:
    data = generate(200, 1_500, seed=0)
    text = data.to_csv().decode()
    assert text.splitlines()[0] == "customer_id,date,amount,channel"
    parsed = pd.read_csv(io.StringIO(text), dtype={"customer_id": str})
    assert len(parsed) == 1_500
    assert parsed["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (parsed["amount"] > 0).all()
    assert set(parsed["channel"]) <= set(generator.CHANNELS)


def test_the_generator_knows_nothing_of_the_algorithm() -> None:
    tree = ast.parse(inspect.getsource(generator))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name and name.startswith("taas_marketing")}
    assert not {name for name in imported if name and name.startswith("sklearn")}


def test_too_few_customers_for_the_profiles_is_refused() -> None:
    with pytest.raises(ValueError, match="one per profile"):
        generate(3)
