"""How long `taas stack up` takes from a warm build cache.

Each run stops the whole stack (`taas stack down`) and times `taas stack up` until every
component is healthy; then times a second `up` on the running stack (the no-op path).
With --fresh-state it first deletes all running state (`taas stack reset`), so the first
run also creates the PostgreSQL cluster and Keycloak's schema.

    python benchmarks/stack_up.py [--runs 3] [--fresh-state]

Target (issue 2): every component healthy in under 180 s from a warm cache.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _results import write_results

TAAS = str(Path(sys.executable).with_name("taas"))
TARGET_S = 180.0


def timed(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([TAAS, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh-state", action="store_true")
    args = parser.parse_args()

    subprocess.run([TAAS, "stack", "install"], check=True)
    figures: dict[str, float | int | bool] = {"runs": args.runs, "target_s": TARGET_S}
    if args.fresh_state:
        subprocess.run([TAAS, "stack", "reset", "--yes"], check=True)
        figures["up_fresh_state_s"] = round(timed("stack", "up"), 2)
    warm = []
    for run in range(args.runs):
        subprocess.run([TAAS, "stack", "down"], check=True, stderr=subprocess.DEVNULL)
        warm.append(timed("stack", "up"))
        print(f"run {run + 1}/{args.runs}: up from stopped in {warm[-1]:.1f}s", file=sys.stderr)
    noop = [timed("stack", "up") for _ in range(args.runs)]
    figures |= {
        "up_from_stopped_p50_s": round(statistics.median(warm), 2),
        "up_from_stopped_max_s": round(max(warm), 2),
        "up_when_running_p50_s": round(statistics.median(noop), 2),
        "noop_to_cold_ratio": round(statistics.median(noop) / statistics.median(warm), 3),
        "within_target": max(warm) < TARGET_S,
    }
    write_results("stack_up", figures)


if __name__ == "__main__":
    main()
