"""How much the object store's background work slows provisioning when many tenants are
present, side by side in one run: ``--count`` pool tenants one after another with MinIO's
data scanner at its default speed, then at ``slow``, then at default again (A-B-A, so the
machine's drift shows), each round after ``--settle-s`` and a window of CPU at rest per
process. Run it on a stack that ``provisioning.py --keep`` left full:

    python benchmarks/provisioning.py --points 0,1000,2500,5000 --keep
    python benchmarks/background_load.py
    make reset

The scanner walks every bucket each cycle (usage for quotas, lifecycle, healing); at
``default`` it sleeps twice as long as it works, at ``slow`` ten times.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg
from minio.credentials.providers import StaticProvider
from minio.minioadmin import MinioAdmin

from _platform import Platform
from _results import stack_env, write_results
from provisioning import idle_cpu, log, round_of

SPEEDS = ("default", "slow", "default")


def scanner_speed(admin: MinioAdmin, speed: str) -> None:
    admin.config_set("scanner", {"speed": speed})


def tenants_present(platform: Platform) -> int:
    with psycopg.connect(platform.env["TAAS_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT count(*) FROM tenants WHERE status = 'active'").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="tenants timed per round")
    parser.add_argument("--settle-s", type=float, default=90.0)
    args = parser.parse_args()
    env = stack_env()
    admin = MinioAdmin(
        endpoint=env["TAAS_MINIO_ENDPOINT"],
        credentials=StaticProvider(env["TAAS_MINIO_ROOT_USER"], env["TAAS_MINIO_ROOT_PASSWORD"]),
        secure=False,
    )
    platform = Platform(fresh=False)
    made: list[str] = []
    rounds: list[dict[str, Any]] = []
    try:
        present = tenants_present(platform)
        log(f"{present} tenants present")
        for speed in SPEEDS:
            scanner_speed(admin, speed)
            log(f"scanner {speed}: settling {args.settle_s:.0f} s")
            time.sleep(args.settle_s)
            at_rest = idle_cpu(platform)
            log(f"scanner {speed}: {args.count} one after another")
            serial = round_of(platform, args.count, 1, made)
            rounds.append({"scanner_speed": speed, "cpu_at_rest": at_rest, "serial": serial})
            log(f"scanner {speed}: {serial} at rest {at_rest}")
    finally:
        scanner_speed(admin, "default")
        platform.stop()
    default_p95 = max(rounds[0]["serial"]["p95_s"], rounds[2]["serial"]["p95_s"])
    figures = {
        "tenants_present": present,
        "count": args.count,
        "rounds": rounds,
        "slow_to_default_p95_ratio": round(rounds[1]["serial"]["p95_s"] / default_p95, 3),
        "minio_core_share_default": rounds[0]["cpu_at_rest"]["minio_core_share"],
        "minio_core_share_slow": rounds[1]["cpu_at_rest"]["minio_core_share"],
    }
    write_results("background_load", figures)


if __name__ == "__main__":
    main()
