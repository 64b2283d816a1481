"""How fast route changes reach running gateways, under load, with many routes loaded.

Starts its own API, worker and gateway (scratch database ``taas_bench``) on the running
local stack; the gateway applies route changes incrementally (the default). For the
comparison, ``--compare-cycles`` more cycles are then run with a second gateway beside it
that has ``TAAS_GATEWAY_ROUTE_MAX_INCREMENTAL=0`` and reloads its whole route table on
every change (the path before incremental updates, and still the fallback), both measured
on the same changes (it is not running during the headline cycles: its reloads would take
the CPU the first gateway is measured on). It runs the vendor's example plugin
(services/example_plugin) as the upstream, provisions one real pool tenant and loads
``--routes`` more subscription rows (tenants and subscriptions inserted directly, so the
route tables really hold them).
While ``--load-threads`` clients call a steady module through the incremental gateway
without pause, it repeats ``--cycles`` times, each with a fresh module (versions 1.0.0
and 1.1.0, the second needing a scope the bank's token lacks):

- publish: the approve-and-publish call of 1.0.0 returns → the gateway stops answering
  404 (unknown module) and answers 403 (known, not subscribed);
- subscribe: the subscription's operation commits (``finished_at``) → the first 200;
  ``subscribe_with_saga`` counts from the 202 instead (Celery pickup, Kubernetes and
  Keycloak steps included);
- upgrade: publishing 1.1.0 moves the stable-channel subscription; its operation commits
  → the first 403 (1.1.0's scope is missing: the route follows the new version);
- revoke: revoking the version the bank is on returns → the first 503.

Each gateway is polled by its own thread (and client) from the same start. Reported per
change kind: p50/p95/max seconds of the incremental gateway, then from the comparison
cycles the p95 of each gateway and their ratio, and the steady load's calls and failures
(every non-200 is a failure: in-flight requests must survive every route change).

    python benchmarks/hotplug.py [--cycles 20] [--routes 5000] [--load-threads 2]
                                 [--compare-cycles 5]

Target (issue 10, item 4): p95 at most 0.25 s for every change kind with 5,000 routes
loaded, zero failed in-flight requests.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from _results import write_results
from provisioning import ROOT, Platform, percentile, provision

PLUGIN = ROOT / "services" / "example_plugin" / "app.py"
RUN = ROOT / "benchmarks" / ".run"
POLL_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up at {url}")


def start(argv: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    RUN.mkdir(exist_ok=True)
    with (RUN / log).open("ab") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def client_token(token_url: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        token_url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=15,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def base_manifest(url: str) -> dict[str, Any]:
    printed = subprocess.run(
        [sys.executable, str(PLUGIN), "--manifest", "--url", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    manifest: dict[str, Any] = json.loads(printed)
    manifest["scopes"] = []
    return manifest


class Bench:
    def __init__(self, platform: Platform, gateway_url: str) -> None:
        self.platform = platform
        self.api = httpx.Client(base_url=platform.url, timeout=30)
        self.gateway = gateway_url
        self.pollers: dict[str, httpx.Client] = {}
        vendor = self.api.post(
            "/v1/vendors",
            json={
                "slug": f"hp{uuid.uuid4().hex[:8]}",
                "display_name": "Hot-plug bench",
                "contact_email": "bench@example.com",
            },
            headers=platform.headers(),
        )
        vendor.raise_for_status()
        self.vendor = vendor.json()
        creds = self.vendor["credentials"]
        self.plugin_port = free_port()
        self.plugin = start(
            [sys.executable, str(PLUGIN), "--port", str(self.plugin_port)],
            {**os.environ, "TAAS_SIGNING_SECRET": creds["signing_secret"]},
            "hotplug-plugin.log",
        )
        wait_http(f"http://127.0.0.1:{self.plugin_port}/healthz", "the example plugin")
        self.manifest = base_manifest(f"http://127.0.0.1:{self.plugin_port}")

    def vendor_headers(self) -> dict[str, str]:
        creds = self.vendor["credentials"]
        token = client_token(creds["token_url"], creds["client_id"], creds["client_secret"])
        return {"Authorization": f"Bearer {token}"}

    def validated(self, name: str, version: str = "1.0.0", scopes: list[str] | None = None) -> None:
        body = {**self.manifest, "name": name, "version": version, "scopes": scopes or []}
        slug = self.vendor["vendor"]["slug"]
        self.api.post(
            f"/v1/vendors/{slug}/plugins", json=body, headers=self.vendor_headers()
        ).raise_for_status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            row = self.api.get(
                f"/v1/plugins/{name}/versions/{version}", headers=self.platform.headers()
            ).json()
            if row["status"] == "validated":
                return
            if row["status"] == "invalid":
                raise RuntimeError(f"{name} failed validation: {row['validation']}")
            time.sleep(0.2)
        raise RuntimeError(f"{name} was not validated in time")

    def publish(self, name: str, version: str = "1.0.0") -> None:
        self.api.post(
            f"/v1/plugins/{name}/versions/{version}/approve",
            json={},
            headers=self.platform.headers(),
        ).raise_for_status()

    def subscribe(self, tenant_id: str, name: str) -> str:
        response = self.api.post(
            f"/v1/tenants/{tenant_id}/subscriptions",
            json={"module": name, "rate_limit_rps": 100_000},
            headers=self.platform.headers(),
        )
        response.raise_for_status()
        return str(response.json()["operation"]["id"])

    def revoke(self, name: str, version: str = "1.0.0") -> None:
        """Request the revocation and have the second operator approve it: the version is
        revoked when the approval answers (propagation is measured from then)."""
        asked = self.api.post(
            f"/v1/plugins/{name}/versions/{version}/revoke",
            json={"reason": "benchmark"},
            headers=self.platform.headers(),
        )
        asked.raise_for_status()
        self.api.post(
            f"/v1/approvals/{asked.json()['id']}/approve",
            json={},
            headers=self.platform.approver_headers(),
        ).raise_for_status()

    def until_each(self, gateways: list[str], path: str, token: str, status: int) -> list[float]:
        """For each gateway, the wall-clock time (``time.time()``) of its first ``status``
        answer for ``path``; each gateway is polled by its own thread."""
        found: list[float | None] = [None] * len(gateways)
        headers = {"Authorization": f"Bearer {token}"}
        body = {"amount": 50000, "term_months": 24, "monthly_income": 12000}
        deadline = time.monotonic() + POLL_TIMEOUT_S
        # One client per gateway, made once: making an httpx client (its TLS context) takes
        # tens of milliseconds on a busy machine, which would be counted as propagation.
        for gateway in gateways:
            if gateway not in self.pollers:
                self.pollers[gateway] = httpx.Client(timeout=10)

        def poll(index: int) -> None:
            http = self.pollers[gateways[index]]
            while time.monotonic() < deadline:
                answer = http.post(gateways[index] + path, json=body, headers=headers)
                if answer.status_code == status:
                    found[index] = time.time()
                    return

        threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(gateways))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if any(when is None for when in found):
            raise RuntimeError(f"a gateway never answered {status} for {path}")
        return [when for when in found if when is not None]

    def finished_at(self, tenant_id: str, module: str, kind: str) -> float:
        """When the newest ``kind`` operation of the tenant's subscription to ``module``
        succeeded (its route change commits with it)."""
        deadline = time.monotonic() + 120
        with psycopg.connect(self.platform.env["TAAS_DATABASE_URL"], autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT o.status, o.finished_at FROM operations o"
                    " JOIN subscriptions s ON o.lane = 'subscription:' || s.id"
                    " WHERE s.tenant_id = %s AND s.module = %s AND o.kind = %s"
                    " ORDER BY o.created_at DESC LIMIT 1",
                    (tenant_id, module, kind),
                ).fetchone()
                if row is not None and row[0] == "succeeded":
                    return float(row[1].timestamp())
                if row is not None and row[0] == "failed":
                    raise RuntimeError(f"the {kind} operation of {module} failed")
                time.sleep(0.05)
        raise RuntimeError(f"the {kind} operation of {module} did not finish")

    def until(self, http: httpx.Client, path: str, token: str, status: int) -> float:
        """Seconds until the gateway answers ``status`` for ``path``."""
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {token}"}
        body = {"amount": 50000, "term_months": 24, "monthly_income": 12000}
        while time.perf_counter() - started < POLL_TIMEOUT_S:
            if http.post(self.gateway + path, json=body, headers=headers).status_code == status:
                return time.perf_counter() - started
        raise RuntimeError(f"the gateway never answered {status} for {path}")


def load_routes(database_url: str, module: str, count: int) -> None:
    """``count`` more tenants, each subscribed to ``module`` (route rows only)."""
    with psycopg.connect(database_url) as conn:
        version_id = conn.execute(
            "SELECT id FROM plugin_versions WHERE name = %s", (module,)
        ).fetchone()
        assert version_id is not None
        with conn.cursor() as cur:
            for index in range(count):
                tenant_id = uuid.uuid4()
                cur.execute(
                    "INSERT INTO tenants (id, slug, display_name, tier, region, contacts, quotas,"
                    " object_lock, status, drift, row_version) VALUES (%s, %s, 'Route load',"
                    " 'pool', 'bench', '[]', %s, false, 'active', '[]', 1)",
                    (
                        tenant_id,
                        f"r{index}-{uuid.uuid4().hex[:6]}",
                        json.dumps(
                            {
                                "cpu": "1",
                                "memory": "1Gi",
                                "storage_gb": 1,
                                "requests_per_second": 50,
                            }
                        ),
                    ),
                )
                cur.execute(
                    "INSERT INTO subscriptions (id, tenant_id, module, channel, plugin_version_id,"
                    " upstream_url, status, rate_limit_rps, requested_by) VALUES (%s, %s, %s,"
                    " 'stable', %s, 'http://127.0.0.1:9', 'active', 50, 'bench')",
                    (uuid.uuid4(), tenant_id, module, version_id[0]),
                )
        conn.commit()


def remove_loaded_routes(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "DELETE FROM subscriptions WHERE tenant_id IN "
            "(SELECT id FROM tenants WHERE region = 'bench' AND display_name = 'Route load')"
        )
        conn.execute("DELETE FROM tenants WHERE region = 'bench' AND display_name = 'Route load'")
        conn.commit()


class SteadyLoad:
    """Clients calling one route without pause; every answer's status is counted."""

    def __init__(self, url: str, token: str, threads: int) -> None:
        self.url, self.token = url, token
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        body = {"amount": 50000, "term_months": 24, "monthly_income": 12000}
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                try:
                    status = http.post(self.url, json=body, headers=headers).status_code
                    with self._lock:
                        self.statuses[status] += 1
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.errors[type(exc).__name__] += 1

    def __enter__(self) -> SteadyLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_s": round(statistics.median(values), 4),
        "p95_s": round(percentile(values, 0.95), 4),
        "max_s": round(max(values), 4),
    }


def prepare(platform: Platform, gateway_url: str, routes: int, made: list[str]) -> Any:
    """The bench vendor and plugin, a real tenant on a steady module, and the loaded routes."""
    bench = Bench(platform, gateway_url)
    with httpx.Client(base_url=platform.url, timeout=30) as http:
        tenant_id, _ = provision(platform, http)
    made.append(tenant_id)
    tenant = bench.api.patch(
        f"/v1/tenants/{tenant_id}",
        json={"quotas": {"requests_per_second": 100_000}},
        headers=platform.headers(),
    ).json()["tenant"]
    steady = f"hp-steady-{uuid.uuid4().hex[:6]}"
    bench.validated(steady)
    bench.publish(steady)
    bench.subscribe(tenant_id, steady)
    load_routes(platform.env["TAAS_DATABASE_URL"], steady, routes)
    print(f"· steady module {steady}; {routes} more routes loaded")

    from taas.integrations.systems import Systems  # noqa: PLC0415 - needs the bench env
    from taas.kit.settings import AppSettings  # noqa: PLC0415

    os.environ.update(platform.env)
    secret = Systems.from_settings(AppSettings()).kubernetes.read_credentials(_spec(tenant))
    token_url = f"{secret['issuer']}/protocol/openid-connect/token"
    token = client_token(token_url, secret["client_id"], secret["client_secret"])
    with httpx.Client(timeout=10) as http:
        bench.until(http, f"/t/{tenant['slug']}/{steady}/precheck", token, 200)
    return bench, tenant, token, steady


KINDS = ("publish", "subscribe", "upgrade", "revoke")
UPGRADE_SCOPE = "hp-upgrade.use"


def run_cycles(
    bench: Bench,
    tenant: dict[str, Any],
    token: str,
    gateways: list[str],
    *,
    cycles: int,
    label: str,
) -> tuple[dict[str, list[list[float]]], list[float]]:
    """``cycles`` times each change kind; seconds per kind and per gateway, and the
    subscribe times with the saga (first gateway)."""
    slug = tenant["slug"]
    results: dict[str, list[list[float]]] = {kind: [[] for _ in gateways] for kind in KINDS}
    with_saga: list[float] = []

    def record(kind: str, since: float, hits: list[float]) -> None:
        for index, hit in enumerate(hits):
            results[kind][index].append(max(hit - since, 0.0))

    for cycle in range(cycles):
        name = f"hp-{label[0]}{cycle}-{uuid.uuid4().hex[:6]}"
        path = f"/t/{slug}/{name}/precheck"
        bench.validated(name)
        bench.validated(name, "1.1.0", scopes=[UPGRADE_SCOPE])
        bench.publish(name)
        record("publish", time.time(), bench.until_each(gateways, path, token, 403))
        accepted = time.time()
        bench.subscribe(tenant["id"], name)
        hits = bench.until_each(gateways, path, token, 200)
        with_saga.append(hits[0] - accepted)
        record("subscribe", bench.finished_at(tenant["id"], name, "subscribe"), hits)
        bench.publish(name, "1.1.0")  # the stable channel moves the bank to 1.1.0
        hits = bench.until_each(gateways, path, token, 403)
        record("upgrade", bench.finished_at(tenant["id"], name, "change_subscription"), hits)
        bench.revoke(name, "1.0.0")  # not the bank's version any more: nothing changes
        bench.revoke(name, "1.1.0")
        record("revoke", time.time(), bench.until_each(gateways, path, token, 503))
        print(
            f"{label} cycle {cycle + 1}/{cycles}: "
            + ", ".join(
                f"{kind} " + " / ".join(f"{v[-1] * 1000:.0f}" for v in per_gateway) + " ms"
                for kind, per_gateway in results.items()
            )
        )
    return results, with_saga


def measure(
    bench: Bench,
    tenant: dict[str, Any],
    token: str,
    steady: str,
    *,
    start_full_reload: Callable[[], str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The incremental gateway alone first (the headline figures); then, with a gateway
    that reloads everything on each change started beside it, both on the same changes."""
    steady_url = f"{bench.gateway}/t/{tenant['slug']}/{steady}/precheck"
    figures: dict[str, Any] = {
        "routes_loaded": args.routes + 1,
        "cycles": args.cycles,
        "compare_cycles": args.compare_cycles,
    }
    with SteadyLoad(steady_url, token, args.load_threads) as load:
        results, with_saga = run_cycles(
            bench, tenant, token, [bench.gateway], cycles=args.cycles, label="incremental"
        )
        for kind, (incremental,) in results.items():
            figures.update({f"{kind}_{key}": value for key, value in summary(incremental).items()})
        figures.update({f"subscribe_with_saga_{k}": v for k, v in summary(with_saga).items()})
        figures["p95_s"] = max(figures[f"{kind}_p95_s"] for kind in KINDS)
        if args.compare_cycles:
            full = start_full_reload()
            compared, _ = run_cycles(
                bench,
                tenant,
                token,
                [bench.gateway, full],
                cycles=args.compare_cycles,
                label="compare",
            )
            for kind, (incremental, full_reload) in compared.items():
                inc_p95 = percentile(incremental, 0.95)
                full_p95 = percentile(full_reload, 0.95)
                figures[f"compare_incremental_{kind}_p95_s"] = round(inc_p95, 4)
                figures[f"compare_full_reload_{kind}_p95_s"] = round(full_p95, 4)
                figures[f"{kind}_full_reload_to_incremental_p95_ratio"] = (
                    round(full_p95 / inc_p95, 2) if inc_p95 > 0 else None
                )
    failed = sum(n for status, n in load.statuses.items() if status != 200)
    figures["in_flight_requests"] = sum(load.statuses.values()) + sum(load.errors.values())
    figures["in_flight_failed"] = failed + sum(load.errors.values())
    figures["in_flight_statuses"] = {str(k): v for k, v in sorted(load.statuses.items())}
    figures["in_flight_errors"] = dict(load.errors)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--routes", type=int, default=5000)
    parser.add_argument("--load-threads", type=int, default=2)
    parser.add_argument(
        "--compare-cycles",
        type=int,
        default=5,
        help="cycles measured again with a full-reload gateway beside (0: none)",
    )
    args = parser.parse_args()

    platform = Platform()
    gateway_port = free_port()
    gateway = start(
        [sys.executable, "-m", "taas.cli.gateway", "run", "--port", str(gateway_port)],
        platform.env,
        "hotplug-gateway.log",
    )
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    # Started only for the comparison: it reloads 5,000 routes on every change, and the
    # CPU that takes would slow the incremental gateway's figures down.
    full: list[subprocess.Popen[bytes]] = []

    def start_full_reload() -> str:
        port = free_port()
        full.append(
            start(
                [sys.executable, "-m", "taas.cli.gateway", "run", "--port", str(port)],
                {**platform.env, "TAAS_GATEWAY_ROUTE_MAX_INCREMENTAL": "0"},
                "hotplug-gateway-full-reload.log",
            )
        )
        wait_http(f"http://127.0.0.1:{port}/_gateway/readyz", "the full-reload gateway")
        return f"http://127.0.0.1:{port}"

    made: list[str] = []
    bench = None
    try:
        wait_http(gateway_url + "/_gateway/readyz", "the gateway")
        bench, tenant, token, steady = prepare(platform, gateway_url, args.routes, made)
        figures = measure(
            bench, tenant, token, steady, start_full_reload=start_full_reload, args=args
        )
        write_results("hotplug", figures)
    finally:
        remove_loaded_routes(platform.env["TAAS_DATABASE_URL"])
        for process in (gateway, *full, bench.plugin if bench else None):
            if process is not None:
                os.killpg(process.pid, 15)
                process.wait(timeout=30)
        _offboard(platform, made)
        platform.stop()


def _spec(tenant: dict[str, Any]) -> Any:
    from taas.integrations.spec import Quotas, TenantSpec  # noqa: PLC0415

    return TenantSpec(
        id=uuid.UUID(tenant["id"]),
        slug=tenant["slug"],
        tier=tenant["tier"],
        region=tenant["region"],
        quotas=Quotas(**tenant["quotas"]),
    )


def _offboard(platform: Platform, made: list[str]) -> None:
    from provisioning import offboard_all  # noqa: PLC0415

    offboard_all(platform, made, in_flight=2)


if __name__ == "__main__":
    main()
