"""Marketing segmentation at bank scale: 1,000,000 transactions of 100,000 customers.

Generates a transactions file with known segments (``taas_marketing.generator``, fixed
seed), then runs, in a fresh process each time so the memory figure is the job's own, the
full job exactly as the API runs it (``pipeline.segmentation_job``: parse the CSV, RFM
features, k-means, naming, reactivation list, both CSV files written to a store in
memory). Measured per run: wall time (and per stage), CPU time, peak resident memory of
the process (VmHWM, imports included). Quality: adjusted Rand index (ARI) of the segments
against the generator's truth, the share of customers whose segment name is their true
profile, silhouette and Davies-Bouldin.

Side by side, on the same file and features: the textbook baseline, quantile RFM scoring
(recency, frequency and spend each scored 1-5 by quintile; fixed rules map the scores to
the same seven names), and an ablation: k-means on fewer features (plain RFM, without
trend, without tenure).

    python benchmarks/marketing.py [--customers 100000] [--transactions 1000000] [--runs 3]

Targets: under 60 s and under 2 GB on this machine (2 shared cores).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from taas_marketing import generator
from taas_marketing.features import FEATURES, rfm_features, scale
from taas_marketing.pipeline import segmentation_job
from taas_marketing.schemas import JobRequest
from taas_marketing.segment import N_INIT
from taas_marketing.validation import Limits, parse_transactions
from threadpoolctl import threadpool_limits

from _results import write_results

TARGET_SECONDS = 60.0
TARGET_MIB = 2048.0
LAPSED = ("dormant", "at risk")


class MemoryStore:
    """Where the job writes its CSV files (the SDK's storage, minus the network)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[key] = data


def quantile_rfm(features: pd.DataFrame) -> pd.Series:
    """The baseline: RFM quintile scores (5 best) and a fixed map from scores to names."""

    def quintile(values: pd.Series) -> pd.Series:
        ranks = values.rank(method="first")  # ties (many 1-purchase customers) split evenly
        return pd.qcut(ranks, 5, labels=False).astype(int) + 1

    r = 6 - quintile(features["recency_days"])
    f = quintile(features["frequency"])
    m = quintile(features["monetary"])
    conditions = [
        (r >= 4) & (f >= 4) & (m >= 4),
        (r >= 3) & (f >= 4),
        (r >= 4) & (f <= 1),
        (r <= 2) & (f >= 3),
        r <= 2,
        r >= 3,
    ]
    names = ["high value", "loyal", "new", "at risk", "dormant", "growing"]
    return pd.Series(np.select(conditions, names, "occasional"), index=features.index)


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over exec, so a child would report the parent's peak (the generator's) as its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def run_job(csv_path: Path, segments: int | str) -> dict[str, Any]:
    """One job in this process; its figures and outputs (the child side of ``--child``)."""
    data = csv_path.read_bytes()
    store = MemoryStore()
    request = JobRequest.model_validate({"upload_key": "uploads/bench.csv", "segments": segments})
    limits = Limits(max_bytes=len(data) + 1, max_rows=10**8)
    stages: list[tuple[str, float]] = []
    started, cpu_started = time.perf_counter(), time.process_time()

    def report(stage: str, percent: int) -> None:
        stages.append((stage, time.perf_counter()))

    result = segmentation_job(store, data, request, "bench", limits)(report)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_mib = peak_rss_mib()
    ends = [*(moment for _, moment in stages[1:]), started + seconds]
    per_stage = {
        f"{name}_s": round(end - begin, 2) for (name, begin), end in zip(stages, ends, strict=True)
    }

    baseline_started = time.perf_counter()
    baseline = quantile_rfm(rfm_features(parse_transactions(data, limits)))
    baseline_seconds = time.perf_counter() - baseline_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mib": peak_mib,
        "stages": per_stage,
        "baseline_seconds": baseline_seconds,
        "result": result.model_dump(mode="json"),
        "assignments": store.objects[result.outputs.assignments_csv].decode(),
        "targets": store.objects[result.outputs.targets_csv].decode(),
        "baseline": baseline.to_dict(),
    }


def child(csv_path: Path, segments: str, out: Path) -> None:
    k: int | str = segments if segments == "auto" else int(segments)
    out.write_text(json.dumps(run_job(csv_path, k)))


def spawn(csv_path: Path, segments: str, workdir: Path) -> dict[str, Any]:
    out = workdir / f"run-{time.monotonic_ns()}.json"
    argv = [sys.executable, __file__, "--child", str(csv_path), "--segments", segments]
    subprocess.run([*argv, "--out", str(out)], check=True)
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def quality(run: dict[str, Any], truth: pd.Series) -> dict[str, Any]:
    segments = pd.read_csv(io.StringIO(run["assignments"]), dtype={"customer_id": str}).set_index(
        "customer_id"
    )
    truth = truth.loc[segments.index]
    base_names = segments["segment"].str.replace(r" \(\d+\)$", "", regex=True)
    targets = pd.read_csv(io.StringIO(run["targets"]), dtype={"customer_id": str})
    baseline = pd.Series(run["baseline"]).loc[segments.index]
    result = run["result"]
    return {
        "k": result["quality"]["k"],
        "ari": round(float(adjusted_rand_score(truth, segments["segment_id"])), 4),
        "named_as_truth_share": round(float((base_names == truth).mean()), 4),
        "silhouette": result["quality"]["silhouette"],
        "silhouette_sample_customers": result["quality"]["silhouette_sample"],
        "davies_bouldin": result["quality"]["davies_bouldin"],
        "segments": {s["name"]: s["customers"] for s in result["segments"]},
        "targets": len(targets),
        "targets_truly_lapsed_share": round(
            float(truth.loc[targets["customer_id"]].isin(LAPSED).mean()), 4
        ),
        "baseline_ari": round(float(adjusted_rand_score(truth, baseline)), 4),
        "baseline_named_as_truth_share": round(float((baseline == truth).mean()), 4),
    }


def ablation(data: generator.SyntheticData, k: int) -> dict[str, float]:
    """ARI of k-means on fewer features: what tenure and trend add to plain RFM."""
    features = rfm_features(data.transactions)
    matrix = scale(features).matrix
    truth = data.truth.loc[features.index]
    subsets = {
        "rfm_only": ("recency_days", "frequency", "monetary"),
        "without_trend": ("recency_days", "frequency", "monetary", "tenure_days"),
        "without_tenure": ("recency_days", "frequency", "monetary", "trend"),
    }
    scores = {}
    with threadpool_limits(limits=1):
        for name, columns in subsets.items():
            chosen = matrix[:, [FEATURES.index(column) for column in columns]]
            labels = KMeans(n_clusters=k, n_init=N_INIT, random_state=0).fit_predict(chosen)
            scores[f"ablation_ari_{name}"] = round(float(adjusted_rand_score(truth, labels)), 4)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--segments", default="6", help="k, or 'auto' (silhouette)")
    parser.add_argument("--runs", type=int, default=3, help="fresh-process runs of the job")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.segments, args.out)
        return

    started = time.perf_counter()
    data = generator.generate(args.customers, args.transactions, seed=args.seed)
    content = data.to_csv()
    generate_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="taas-bench-marketing-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "transactions.csv"
        csv_path.write_bytes(content)
        runs = [spawn(csv_path, args.segments, workdir) for _ in range(args.runs)]
        auto = spawn(csv_path, "auto", workdir)

    seconds = [run["seconds"] for run in runs]
    typical = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]  # the median run
    figures: dict[str, Any] = {
        "customers": args.customers,
        "transactions": len(data.transactions),
        "file_mib": round(len(content) / 2**20, 1),
        "seed": args.seed,
        "runs": args.runs,
        "generate_and_write_csv_s": round(generate_seconds, 2),
        "seconds_total_s": round(statistics.median(seconds), 2),
        "seconds_total_max_s": round(max(seconds), 2),
        "cpu_total_s": round(statistics.median(run["cpu_seconds"] for run in runs), 2),
        "peak_rss_mib": round(max(run["peak_rss_mib"] for run in runs), 1),
        "stages_s": typical["stages"],
        "baseline_seconds_s": round(statistics.median(run["baseline_seconds"] for run in runs), 2),
        **quality(typical, data.truth),
        "auto_k": auto["result"]["quality"]["k"],
        "auto_seconds_total_s": round(auto["seconds"], 2),
        "auto_peak_rss_mib": round(auto["peak_rss_mib"], 1),
        "auto_silhouette_by_k": auto["result"]["quality"]["silhouette_by_k"],
        "auto_ari": quality(auto, data.truth)["ari"],
    }
    if args.segments != "auto":
        figures.update(ablation(data, int(args.segments)))
    figures["ari_ratio_to_baseline"] = round(figures["ari"] / figures["baseline_ari"], 2)
    figures["seconds_ratio_to_baseline"] = round(
        figures["seconds_total_s"] / figures["baseline_seconds_s"], 2
    )
    slowest = max(figures["seconds_total_max_s"], figures["auto_seconds_total_s"])
    figures["target_under_60_s_met"] = slowest < TARGET_SECONDS
    figures["target_under_2_gib_met"] = (
        max(figures["peak_rss_mib"], figures["auto_peak_rss_mib"]) < TARGET_MIB
    )
    write_results("marketing", figures)


if __name__ == "__main__":
    main()
