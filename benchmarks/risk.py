"""Risk module: scorecard quality against scorecardpy, decision latency, batch throughput.

1. Quality on the fixed stratified 30% holdout of the German Credit data (seed
   ``taas_risk.dataset.SEED``): our pipeline (``taas_risk.train``: settings chosen by
   cross-validation on the 70% training part, then fitted on it) against scorecardpy's
   own pipeline as in its README (``var_filter`` -> ``woebin`` -> ``woebin_ply`` -> L1
   logistic regression, C=0.9), fitted on the same training rows. AUC, KS, Gini and our
   ratio to scorecardpy. Because 300 rows make a noisy holdout, both pipelines are also
   run on ``--resplits`` other stratified 70/30 splits (means and standard deviations).
2. Single-decision latency in process (``RiskService.decide`` including request
   validation) with every fraud rule on, a tenant history of ``--history``
   applications over 30 days and ``--blacklist`` entries per kind; then what the
   durable store pays for that history: packing (under the tenant's lock), encoding,
   size and loading it back.
3. Batch throughput: ``--batch-rows`` applications in one CSV through ``batch.run``
   (parse, validate, score, reasons, write), per second of process CPU time.

    python benchmarks/risk.py [--resplits 10] [--decisions 20000] [--batch-rows 200000]

Targets (issue): AUC/KS/Gini at least scorecardpy's; p99 under 5 ms; over 1,000
applications per second per core in batch.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pandas.core.indexing import _LocIndexer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from taas_risk import batch, dataset, fraud, train
from taas_risk.decision import RiskService
from taas_risk.features import TARGET_SOURCE
from taas_risk.metrics import Discrimination, discrimination
from taas_risk.rules import MAX_WINDOW_S, RiskRules
from taas_risk.schemas import Application, BatchRequest
from taas_risk.scorecard import Scorecard, fit
from taas_risk.state_format import decode_history, encode_history
from taas_risk.store import InMemoryRiskStore, InMemoryTenantData, ManualClock

from _results import write_results

DAY_S = 86400.0
TENANT = "bench-bank"


@contextlib.contextmanager
def pandas2_semantics() -> Iterator[None]:
    """What scorecardpy 0.1.9.7 (written for pandas 1/2) needs to run on pandas 3.

    - strings as ``object`` columns (pandas 3 infers its ``str`` dtype, into which
      scorecardpy's categorical bin labels cannot be assigned);
    - ``df.loc[:, "col"] = values`` replacing the column when the dtypes differ (pandas 2
      upcast with a warning; pandas 3 raises).
    Both are undone on exit. Its progress lines and warnings are silenced.
    """
    original = getattr(_LocIndexer, "__setitem__")  # noqa: B009 - the stubs mistype it

    def setitem(self: Any, key: Any, value: Any) -> None:
        whole_column = (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], slice)
            and key[0] == slice(None)
            and isinstance(key[1], str)
            and getattr(self.obj, "ndim", 1) == 2
        )
        if whole_column:
            self.obj[key[1]] = value
        else:
            original(self, key, value)

    setattr(_LocIndexer, "__setitem__", setitem)  # noqa: B010 - a class attribute, on purpose
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # before the option: setting it warns in pandas 3
            with (
                pd.option_context("future.infer_string", False),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                yield
    finally:
        setattr(_LocIndexer, "__setitem__", original)  # noqa: B010


def scorecardpy_pipeline(training: pd.DataFrame, holdout: pd.DataFrame) -> Discrimination:
    """scorecardpy's README pipeline, fitted on ``training``, measured on ``holdout``.

    Deviations from the README: ``var_filter`` sees the training rows only (the README
    filters the whole file before splitting, which lets the holdout choose variables),
    ``l1_ratio=1`` replaces ``penalty="l1"`` (deprecated in scikit-learn 1.8), and
    ``max_iter`` is raised so saga converges.
    """
    with pandas2_semantics():
        import scorecardpy as sc  # noqa: PLC0415 - imported only under the shim

        def plain(frame: pd.DataFrame) -> pd.DataFrame:
            out = frame.astype({c: object for c in frame.columns if frame[c].dtype == "str"})
            out[TARGET_SOURCE] = (frame[TARGET_SOURCE] == "bad").astype(int)
            return out.reset_index(drop=True)

        train_part, test_part = plain(training), plain(holdout)
        kept = sc.var_filter(train_part, y=TARGET_SOURCE)
        bins = sc.woebin(kept, y=TARGET_SOURCE, ignore_datetime_cols=False)
        train_woe = sc.woebin_ply(kept, bins)
        test_woe = sc.woebin_ply(test_part[kept.columns], bins)
        y_train = train_woe.pop(TARGET_SOURCE)
        y_test = test_woe.pop(TARGET_SOURCE)
        model = LogisticRegression(l1_ratio=1.0, C=0.9, solver="saga", max_iter=10_000)
        model.fit(train_woe, y_train)
        risk = model.predict_proba(test_woe[train_woe.columns])[:, 1]
    return discrimination(y_test.to_numpy(), risk)


def our_pipeline(training: pd.DataFrame, holdout: pd.DataFrame) -> tuple[Scorecard, Discrimination]:
    """``taas_risk.train``'s steps on the given split."""
    frame, bad = dataset.features_and_target(training.reset_index(drop=True))
    settings, _ = train.choose_settings(frame, bad)
    card = fit(frame, bad, settings)
    test_frame, test_bad = dataset.features_and_target(holdout.reset_index(drop=True))
    return card, train.evaluate(card, test_frame, test_bad)


def quality(resplits: int) -> tuple[Scorecard, dict[str, Any]]:
    raw = dataset.load_raw()
    training, holdout = dataset.holdout_split(raw)
    card, ours = our_pipeline(training, holdout)
    theirs = scorecardpy_pipeline(training, holdout)
    figures: dict[str, Any] = {
        "holdout_rows": len(holdout),
        "holdout_seed": dataset.SEED,
        "variables_used": len(card.variables),
        "auc": round(ours.auc, 4),
        "ks": round(ours.ks, 4),
        "gini": round(ours.gini, 4),
        "scorecardpy_auc": round(theirs.auc, 4),
        "scorecardpy_ks": round(theirs.ks, 4),
        "scorecardpy_gini": round(theirs.gini, 4),
        "auc_ratio": round(ours.auc / theirs.auc, 4),
        "ks_ratio": round(ours.ks / theirs.ks, 4),
        "gini_ratio": round(ours.gini / theirs.gini, 4),
    }
    if resplits:
        runs: dict[str, list[float]] = {
            "auc": [],
            "scorecardpy_auc": [],
            "ks": [],
            "scorecardpy_ks": [],
        }
        for seed in range(1, resplits + 1):
            training, holdout = train_test_split(
                raw, test_size=dataset.HOLDOUT_SHARE, stratify=raw[TARGET_SOURCE], random_state=seed
            )
            _, ours = our_pipeline(training, holdout)
            theirs = scorecardpy_pipeline(training, holdout)
            runs["auc"].append(ours.auc)
            runs["ks"].append(ours.ks)
            runs["scorecardpy_auc"].append(theirs.auc)
            runs["scorecardpy_ks"].append(theirs.ks)
        figures["resplit_seeds"] = f"1..{resplits}"
        for name, values in runs.items():
            figures[f"resplit_{name}_mean"] = round(statistics.mean(values), 4)
            figures[f"resplit_{name}_sd"] = (
                round(statistics.stdev(values), 4) if resplits > 1 else 0.0
            )
        for measure in ("auc", "ks"):
            pairs = zip(runs[measure], runs[f"scorecardpy_{measure}"], strict=True)
            figures[f"resplit_{measure}_at_least_equal"] = sum(a >= b for a, b in pairs)
    return card, figures


def id_number(serial: int) -> str:
    """A distinct checksum-valid ID number per serial (below 10**8)."""
    born = f"{1960 + serial % 40}{1 + serial % 12:02d}{1 + serial % 28:02d}"
    first17 = f"{110000 + serial // 1000:06d}{born}{serial % 1000:03d}"
    return first17 + fraud.id_check_character(first17)


def bank_card(serial: int) -> str:
    """A distinct Luhn-valid 16-digit card number per serial."""
    first15 = f"6222021{serial:08d}"
    return next(first15 + d for d in "0123456789" if fraud.luhn_valid(first15 + d))


def applications(count: int, people: int, seed: int) -> list[dict[str, Any]]:
    """Request bodies: German Credit profiles with identities drawn from ``people``."""
    rng = np.random.default_rng(seed)
    frame, _ = dataset.features_and_target(dataset.load_raw())
    profiles = frame.to_dict("records")
    bodies = []
    for _ in range(count):
        person = int(rng.integers(people))
        bodies.append(
            {
                "id_number": id_number(person),
                "phone": f"13{person % 10}{person:08d}"[:11],
                "bank_card": bank_card(person),
                "device_id": f"device-{rng.integers(people * 2)}",
                "ip": f"10.{rng.integers(256)}.{rng.integers(256)}.{rng.integers(256)}",
                "credit": profiles[rng.integers(len(profiles))],
            }
        )
    return bodies


def latency(card: Scorecard, decisions: int, history: int, blacklist: int) -> dict[str, Any]:
    clock = ManualClock(1_750_000_000.0)
    store = InMemoryRiskStore(clock=clock)
    service = RiskService(card, store)
    tenant = store.tenant(TENANT)
    tenant.replace_rules(RiskRules())  # every check on (the defaults)
    people = max(history // 4, 1)
    step = 30 * DAY_S / max(history, 1)
    for body in applications(history, people, seed=1):
        service.decide(TENANT, Application.model_validate(body))
        clock.advance(step)
    for serial in range(blacklist):
        tenant.add_to_blacklist("id_number", id_number(people + serial), "bench")
        tenant.add_to_blacklist("phone", f"137{serial:08d}", "bench")
        tenant.add_to_blacklist("device_id", f"bad-device-{serial}", "bench")
    bodies = applications(decisions, people, seed=2)
    timings = []
    outcomes: dict[str, int] = {"approve": 0, "review": 0, "reject": 0}
    for body in bodies:
        clock.advance(1.0)
        started = time.perf_counter_ns()
        decision = service.decide(TENANT, Application.model_validate(body))
        timings.append(time.perf_counter_ns() - started)
        outcomes[decision.decision] += 1
    timings.sort()

    def pct(share: float) -> float:
        return round(timings[min(len(timings) - 1, int(share * len(timings)))] / 1e6, 3)

    return history_snapshot(tenant, clock) | {
        "decision_iterations": decisions,
        "decision_history_applications": history,
        "decision_history_identifiers": tenant.size(),
        "decision_blacklist_entries": 3 * blacklist,
        "decision_p50_ms": pct(0.50),
        "decision_p99_ms": pct(0.99),
        "decision_max_ms": round(timings[-1] / 1e6, 3),
        "decision_outcomes": outcomes,
    }


def history_snapshot(tenant: InMemoryTenantData, clock: ManualClock) -> dict[str, Any]:
    """What the durable store pays for this history: packing it (under the tenant's
    lock), encoding it, its size, and loading it back on a tenant's first request."""
    started = time.perf_counter()
    snapshot = tenant.export_history()
    packed = time.perf_counter()
    blob = encode_history(snapshot, clock())
    encoded = time.perf_counter()
    restored = InMemoryTenantData(clock, MAX_WINDOW_S, hash_key=snapshot.key)
    restored.restore_history(decode_history(blob))
    loaded = time.perf_counter()
    assert restored.size() == tenant.size()
    return {
        "history_snapshot_pack_s": round(packed - started, 3),
        "history_snapshot_encode_s": round(encoded - packed, 3),
        "history_snapshot_mb": round(len(blob) / 1e6, 1),
        "history_snapshot_load_s": round(loaded - encoded, 3),
    }


def throughput(card: Scorecard, rows: int) -> dict[str, Any]:
    frame, _ = dataset.features_and_target(dataset.load_raw())
    sample = frame.sample(n=rows, replace=True, random_state=3).reset_index(drop=True)
    sample.insert(0, "application_id", [f"app-{i}" for i in range(rows)])
    data = sample.to_csv(index=False).encode()
    limits = batch.BatchLimits(
        max_bytes=max(len(data), batch.BatchLimits().max_bytes), max_rows=rows
    )
    request = BatchRequest(input_key="bench/input.csv")
    cpu, wall = time.process_time(), time.perf_counter()
    output, result = batch.run(data, request, card, RiskRules().scoring, limits)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert result.scored == rows
    return {
        "batch_rows": rows,
        "batch_input_mb": round(len(data) / 1e6, 1),
        "batch_output_mb": round(len(output) / 1e6, 1),
        "batch_wall_s": round(wall, 2),
        "batch_cpu_s": round(cpu, 2),
        "batch_apps_per_s_per_core": round(rows / cpu, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resplits", type=int, default=10)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--blacklist", type=int, default=100_000)
    parser.add_argument("--batch-rows", type=int, default=200_000)
    args = parser.parse_args()
    card, figures = quality(args.resplits)
    figures.update(latency(card, args.decisions, args.history, args.blacklist))
    figures.update(throughput(card, args.batch_rows))
    write_results("risk", figures)


if __name__ == "__main__":
    main()
