"""How fast the control plane turns a bank into an active pool tenant, and how that changes
with many tenants already present.

Starts its own API and worker (against a scratch database ``taas_bench``) on the running
local stack, then for each round measures create-to-active time of pool tenants:
``--count`` one after another, then ``--count`` with ``--in-flight`` at a time. It then
provisions tenants until ``--background`` are present and repeats both rounds. Memory is
the peak resident set of the API process and of the worker with its pool children.
Every tenant it made is offboarded (nothing kept) at the end.

    python benchmarks/provisioning.py [--count 50] [--in-flight 8] [--background 200]

Target (issue 3): p95 under 10 s per pool tenant, and no more than 1.5x slower with 200
tenants present.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg

from _results import stack_env, write_results
from taas.cli.platform import WORKER_CONCURRENCY, worker_argv
from taas.integrations.identity import IdentityTenants

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "taas_bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


SECOND_OPERATOR = "bench-operator-2"


class Platform:
    """API + worker processes of the control plane, on a scratch database."""

    def __init__(self, concurrency: int = WORKER_CONCURRENCY, *, fresh: bool = True) -> None:
        env = {**os.environ, **stack_env()}
        admin_url = env["TAAS_DATABASE_URL"]
        env["TAAS_DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + DATABASE
        env["TAAS_TENANTS_DATABASE"] = "taas_bench_tenants"
        env["TAAS_CELERY_BROKER_URL"] = env["TAAS_CELERY_BROKER_URL"].rsplit("/", 1)[0] + "/6"
        env["TAAS_REDIS_URL"] = env["TAAS_REDIS_URL"].rsplit("/", 1)[0] + "/7"
        env["TAAS_RECONCILE_INTERVAL_S"] = "3600"
        self.env = env
        if fresh:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {DATABASE}")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        run = ROOT / "benchmarks" / ".run"
        run.mkdir(exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from taas.kit.migrate import upgrade; import os; "
                "upgrade(os.environ['TAAS_DATABASE_URL'].replace('postgresql://', 'postgresql+psycopg://'))",
            ],
            env=env,
            check=True,
        )
        with (run / "api.log").open("ab") as api_log, (run / "worker.log").open("ab") as worker_log:
            self.api = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "taas.api.app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=api_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.worker = subprocess.Popen(
                worker_argv(None, concurrency=concurrency, loglevel="WARNING"),
                env=env,
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        self.peak = {"api": 0.0, "worker": 0.0}
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()
        self._token_lock = threading.Lock()
        self._password = secrets.token_urlsafe(16)
        self.token = self._operator_token(create=True)
        # The second operator approves what the first requests (maker-checker).
        self.token2 = self._operator_token(create=True, username=SECOND_OPERATOR)
        self.token2_expires = self.token_expires

    def _sample(self) -> None:
        while self._sampling:
            self.peak["api"] = max(self.peak["api"], rss_mb(self.api.pid))
            self.peak["worker"] = max(self.peak["worker"], rss_mb(self.worker.pid))
            time.sleep(0.5)

    def _operator_token(self, *, create: bool = False, username: str = "bench-operator") -> str:
        env = self.env
        identity = IdentityTenants(
            env["TAAS_KEYCLOAK_URL"],
            env["TAAS_KEYCLOAK_ADMIN_USER"],
            env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
            banks_realm="taas-banks",
            platform_realm="taas-platform",
        )
        if create:
            identity.ensure_platform()
            identity.ensure_platform_user(username, self._password, ["platform-operator"])
            admin = identity.admin("taas-platform")
            user_id = admin.get_user_id(username)
            assert user_id is not None
            admin.set_user_password(user_id, self._password, temporary=False)
        response = httpx.post(
            f"{env['TAAS_KEYCLOAK_URL']}/realms/taas-platform/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "taas-console",
                "username": username,
                "password": self._password,
            },
            timeout=10,
        )
        response.raise_for_status()
        if username == "bench-operator":
            self.token_expires = time.monotonic() + 240
        else:
            self.token2_expires = time.monotonic() + 240
        return str(response.json()["access_token"])

    def headers(self) -> dict[str, str]:
        with self._token_lock:
            if time.monotonic() > self.token_expires:
                self.token = self._operator_token()
            return {"Authorization": f"Bearer {self.token}"}

    def approver_headers(self) -> dict[str, str]:
        """The second operator's, for approving what ``headers()`` requested."""
        with self._token_lock:
            if time.monotonic() > self.token2_expires:
                self.token2 = self._operator_token(username=SECOND_OPERATOR)
            return {"Authorization": f"Bearer {self.token2}"}

    def stop(self) -> None:
        self._sampling = False
        for process in (self.api, self.worker):
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


def provision(platform: Platform, http: httpx.Client) -> tuple[str, float]:
    """Create one pool tenant and wait until it is active; seconds from create to active."""
    started = time.perf_counter()
    body = {"slug": f"b{uuid.uuid4().hex[:10]}", "display_name": "Bench Bank", "region": "bench"}
    response = http.post("/v1/tenants", json=body, headers=platform.headers())
    response.raise_for_status()
    tenant_id = response.json()["tenant"]["id"]
    while True:
        status = http.get(f"/v1/tenants/{tenant_id}", headers=platform.headers()).json()["status"]
        if status == "active":
            return tenant_id, time.perf_counter() - started
        if status == "failed":
            raise RuntimeError(f"tenant {tenant_id} failed to provision")
        time.sleep(0.05)


def round_of(platform: Platform, count: int, in_flight: int, made: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    with (
        httpx.Client(base_url=platform.url, timeout=30) as http,
        ThreadPoolExecutor(in_flight) as pool,
    ):
        results = list(pool.map(lambda _: provision(platform, http), range(count)))
    elapsed = time.perf_counter() - started
    made += [tenant_id for tenant_id, _ in results]
    seconds = [s for _, s in results]
    return {
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(percentile(seconds, 0.95), 3),
        "max_s": round(max(seconds), 3),
        "tenants_per_minute": round(count / elapsed * 60, 1),
    }


def offboard_all(platform: Platform, made: list[str], in_flight: int) -> None:
    def offboard(tenant_id: str) -> None:
        with httpx.Client(base_url=platform.url, timeout=30) as http:
            asked = http.post(
                f"/v1/tenants/{tenant_id}/offboard",
                json={"retention": {"keep_data_days": 0}},
                headers=platform.headers(),
            )
            if asked.status_code == 202 and asked.json().get("approval"):
                http.post(
                    f"/v1/approvals/{asked.json()['approval']['id']}/approve",
                    json={},
                    headers=platform.approver_headers(),
                ).raise_for_status()
            while http.get(f"/v1/tenants/{tenant_id}", headers=platform.headers()).json()[
                "status"
            ] not in ("offboarded", "failed"):
                time.sleep(0.2)

    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(offboard, made))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--background", type=int, default=200)
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=WORKER_CONCURRENCY,
        help="prefork children of the worker (default: what `taas platform up` runs)",
    )
    parser.add_argument(
        "--cleanup", action="store_true", help="only offboard what an interrupted run left"
    )
    args = parser.parse_args()

    if args.cleanup:
        platform = Platform(args.worker_concurrency, fresh=False)
        try:
            with psycopg.connect(platform.env["TAAS_DATABASE_URL"]) as conn:
                left = [
                    str(row[0])
                    for row in conn.execute(
                        "SELECT id FROM tenants WHERE status NOT IN ('offboarded')"
                    )
                ]
            print(f"offboarding {len(left)} tenants left behind", file=sys.stderr)
            offboard_all(platform, left, args.in_flight)
        finally:
            platform.stop()
        return

    platform = Platform(args.worker_concurrency)
    made: list[str] = []
    figures: dict[str, Any] = {
        "count": args.count,
        "in_flight": args.in_flight,
        "background_tenants": args.background,
    }
    progress: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    try:
        progress(f"empty: {args.count} one after another")
        empty_serial = round_of(platform, args.count, 1, made)
        progress(f"empty: {args.count} with {args.in_flight} in flight")
        empty_parallel = round_of(platform, args.count, args.in_flight, made)
        missing = args.background - len(made)
        if missing > 0:
            progress(f"provisioning {missing} more tenants to reach {args.background}")
            round_of(platform, missing, args.in_flight, made)
        progress(f"with {len(made)} present: {args.count} one after another")
        full_serial = round_of(platform, args.count, 1, made)
        progress(f"with {len(made)} present: {args.count} with {args.in_flight} in flight")
        full_parallel = round_of(platform, args.count, args.in_flight, made)
        figures |= {
            "empty_serial": empty_serial,
            "empty_parallel": empty_parallel,
            f"with_{args.background}_serial": full_serial,
            f"with_{args.background}_parallel": full_parallel,
            "serial_p95_ratio_full_to_empty": round(
                full_serial["p95_s"] / empty_serial["p95_s"], 3
            ),
            "parallel_p95_ratio_full_to_empty": round(
                full_parallel["p95_s"] / empty_parallel["p95_s"], 3
            ),
            "api_peak_rss_mb": round(platform.peak["api"], 1),
            "worker_peak_rss_mb": round(platform.peak["worker"], 1),
        }
        figures["target_p95_under_10_s"] = (
            max(
                empty_serial["p95_s"],
                empty_parallel["p95_s"],
                full_serial["p95_s"],
                full_parallel["p95_s"],
            )
            < 10
        )
        figures["target_growth_at_most_1_5x"] = (
            max(
                figures["serial_p95_ratio_full_to_empty"],
                figures["parallel_p95_ratio_full_to_empty"],
            )
            <= 1.5
        )
        write_results("provisioning", figures)
    finally:
        progress(f"offboarding the {len(made)} tenants made")
        offboard_all(platform, made, args.in_flight)
        platform.stop()


if __name__ == "__main__":
    main()
