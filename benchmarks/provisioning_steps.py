"""Which outside system slows down as tenants accumulate: the duration of each provisioning
step (namespace, schema or database, bucket, identity) against how many tenants were
present when it ran, read from what a ``provisioning.py --keep`` run left in its scratch
database (``taas_bench``).

    python benchmarks/provisioning.py --points 0,1000,2500,5000 --keep
    python benchmarks/provisioning_steps.py --band 1000
    make reset    # then drop the run's tenants with the stack's state

Every provisioning operation of the run counts, most of them made 8 in flight, so a step's
time includes waiting for the shared cores; what is comparable is one band against another
(the load was the same throughout). Pool and silo are reported apart: a silo tenant's
steps make a realm and a database, a pool tenant's an organization and a schema.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from typing import Any

import psycopg

from _platform import DATABASE, percentile
from _results import stack_env, write_results

STEPS_QUERY = """
SELECT t.tier, o.id, s.name,
       EXTRACT(EPOCH FROM (s.finished_at - s.started_at)) AS seconds
  FROM operations o
  JOIN tenants t ON t.id = o.tenant_id
  JOIN operation_steps s ON s.operation_id = o.id
 WHERE o.kind = 'provision' AND o.status = 'succeeded' AND s.status = 'done'
   AND s.started_at IS NOT NULL AND s.finished_at IS NOT NULL
 ORDER BY o.created_at, o.id
"""


def read_steps(database_url: str) -> list[tuple[str, Any, str, float]]:
    with psycopg.connect(database_url) as conn:
        return [(r[0], r[1], r[2], float(r[3])) for r in conn.execute(STEPS_QUERY)]


def by_band(rows: list[tuple[str, Any, str, float]], band: int) -> dict[str, Any]:
    """``{tier: {band start: {step: {p50_s, p95_s, n}}}}``, a tenant's band being how many
    tenants were made before it (operations in creation order)."""
    order: dict[Any, int] = {}
    for _, operation, _, _ in rows:
        order.setdefault(operation, len(order))
    samples: dict[str, dict[int, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for tier, operation, step, seconds in rows:
        samples[tier][order[operation] // band * band][step].append(seconds)
    return {
        tier: {
            str(start): {
                step: {
                    "p50_s": round(statistics.median(values), 3),
                    "p95_s": round(percentile(values, 0.95), 3),
                    "n": len(values),
                }
                for step, values in sorted(steps.items())
            }
            for start, steps in sorted(bands.items())
        }
        for tier, bands in sorted(samples.items())
    }


def growth(bands: dict[str, Any]) -> dict[str, float]:
    """Per step: p50 in the last band over p50 in the first."""
    first, last = bands[min(bands, key=int)], bands[max(bands, key=int)]
    return {
        f"{step}_p50_ratio_last_to_first_band": round(last[step]["p50_s"] / first[step]["p50_s"], 2)
        for step in first
        if step in last and first[step]["p50_s"] > 0
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--band", type=int, default=1000, help="tenants per band")
    args = parser.parse_args()
    admin_url = stack_env()["TAAS_DATABASE_URL"]
    rows = read_steps(admin_url.rsplit("/", 1)[0] + "/" + DATABASE)
    if not rows:
        raise SystemExit(
            f"no provisioning steps in {DATABASE}: run provisioning.py with --keep first"
        )
    tiers = by_band(rows, args.band)
    write_results(
        "provisioning_steps",
        {
            "operations": len({operation for _, operation, _, _ in rows}),
            "band_tenants": args.band,
            **{f"{tier}_growth": growth(bands) for tier, bands in tiers.items()},
            "bands": tiers,
        },
    )


if __name__ == "__main__":
    main()
