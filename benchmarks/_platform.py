"""The control plane as the benchmarks run it: its API and worker on a scratch database
(``taas_bench``) of the running local stack, and the memory of every process involved."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

from _results import stack_env
from taas.cli.platform import WORKER_CONCURRENCY, ensure_control_plane_accounts, worker_argv
from taas.cli.session import local_stack
from taas.integrations.identity import IdentityTenants

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "taas_bench"
STACK_PROCESSES = ("keycloak", "minio")  # measured with the platform's own processes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    pids, index = [pid], 0
    while index < len(pids):
        one = pids[index]
        with contextlib.suppress(OSError):
            pids += [int(c) for c in Path(f"/proc/{one}/task/{one}/children").read_text().split()]
        index += 1
    return pids


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of ``pid`` and its descendants, in MiB. RSS counts a page shared by
    forked processes once per process; PSS splits it between them (their real footprint)."""
    rss = pss = 0
    for one in _tree(pid):
        try:
            for line in Path(f"/proc/{one}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MiB."""
    return memory_mb(pid)[0]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants."""
    ticks = 0
    for one in _tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def stack_pids(names: tuple[str, ...] = STACK_PROCESSES) -> dict[str, int]:
    """Pids of the stack's processes ``names`` (Keycloak and MinIO unless told), from the
    stack's pid files."""
    paths = local_stack().ctx.paths
    found = {}
    for name in names:
        try:
            found[name] = int(paths.pid(name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return found


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
        ensure_control_plane_accounts(env)  # its least-privilege accounts (a fresh stack has none)
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
        self._sampling = True
        try:
            self._ready()
        except BaseException:
            self.stop()  # never leave the processes behind
            raise

    def _ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        self.pids = {"api": self.api.pid, "worker": self.worker.pid, **stack_pids()}
        self.reset_peaks()
        threading.Thread(target=self._sample, daemon=True).start()
        self._token_lock = threading.Lock()
        self._password = secrets.token_urlsafe(16)
        self.token = self._operator_token(create=True)
        # The second operator approves what the first requests (maker-checker).
        self.token2 = self._operator_token(create=True, username=SECOND_OPERATOR)
        self.token2_expires = self.token_expires

    def reset_peaks(self) -> None:
        """Start a new peak: ``peak[name]`` is RSS, ``peak[name + "_pss"]`` PSS, in MiB."""
        self.peak = {key: 0.0 for name in self.pids for key in (name, f"{name}_pss")}

    def _sample(self) -> None:
        while self._sampling:
            for name, pid in self.pids.items():
                rss, pss = memory_mb(pid)
                self.peak[name] = max(self.peak.get(name, 0.0), rss)
                self.peak[f"{name}_pss"] = max(self.peak.get(f"{name}_pss", 0.0), pss)
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
            if process.poll() is None:
                os.killpg(process.pid, 15)
                process.wait(timeout=30)
