"""How fast route changes reach a running gateway, under load, with 1,000 routes loaded.

Starts its own API, worker and gateway (scratch database ``taas_bench``) on the running
local stack, runs the vendor's example plugin (services/example_plugin) as the upstream,
provisions one real pool tenant and loads ``--routes`` more subscription rows (tenants and
subscriptions inserted directly, so the gateway's route table really holds them). While
``--load-threads`` clients call a steady module through the gateway without pause, it
repeats ``--cycles`` times, each with a fresh module version:

- publish: the approve-and-publish call returns → the gateway stops answering 404
  (unknown module) and answers 403 (known, not subscribed);
- subscribe: the subscription's operation is accepted → the first 200 through the
  gateway (this includes the saga that deploys the module: Kubernetes and Keycloak);
- revoke: the revoke call returns → the first 503.

Reported: p50/p95/max seconds per change kind and the steady load's calls and failures
(every non-200 is a failure: in-flight requests must survive every route change).

    python benchmarks/hotplug.py [--cycles 20] [--routes 1000] [--load-threads 2]

Target (issue 4): p95 under 1 s with 1,000 routes loaded, zero failed in-flight requests.
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

    def validated(self, name: str) -> None:
        body = {**self.manifest, "name": name, "version": "1.0.0"}
        slug = self.vendor["vendor"]["slug"]
        self.api.post(
            f"/v1/vendors/{slug}/plugins", json=body, headers=self.vendor_headers()
        ).raise_for_status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            row = self.api.get(
                f"/v1/plugins/{name}/versions/1.0.0", headers=self.platform.headers()
            ).json()
            if row["status"] == "validated":
                return
            if row["status"] == "invalid":
                raise RuntimeError(f"{name} failed validation: {row['validation']}")
            time.sleep(0.2)
        raise RuntimeError(f"{name} was not validated in time")

    def publish(self, name: str) -> None:
        self.api.post(
            f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=self.platform.headers()
        ).raise_for_status()

    def subscribe(self, tenant_id: str, name: str) -> str:
        response = self.api.post(
            f"/v1/tenants/{tenant_id}/subscriptions",
            json={"module": name, "rate_limit_rps": 100_000},
            headers=self.platform.headers(),
        )
        response.raise_for_status()
        return str(response.json()["operation"]["id"])

    def revoke(self, name: str) -> None:
        """Request the revocation and have the second operator approve it: the version is
        revoked when the approval answers (propagation is measured from then)."""
        asked = self.api.post(
            f"/v1/plugins/{name}/versions/1.0.0/revoke",
            json={"reason": "benchmark"},
            headers=self.platform.headers(),
        )
        asked.raise_for_status()
        self.api.post(
            f"/v1/approvals/{asked.json()['id']}/approve",
            json={},
            headers=self.platform.approver_headers(),
        ).raise_for_status()

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


def measure(
    bench: Bench, tenant: dict[str, Any], token: str, steady: str, args: argparse.Namespace
) -> dict[str, Any]:
    slug = tenant["slug"]
    results: dict[str, list[float]] = {"publish": [], "subscribe": [], "revoke": []}
    steady_url = f"{bench.gateway}/t/{slug}/{steady}/precheck"
    with (
        SteadyLoad(steady_url, token, args.load_threads) as load,
        httpx.Client(timeout=10) as http,
    ):
        for cycle in range(args.cycles):
            name = f"hp-{cycle}-{uuid.uuid4().hex[:6]}"
            path = f"/t/{slug}/{name}/precheck"
            bench.validated(name)
            bench.publish(name)
            results["publish"].append(bench.until(http, path, token, 403))
            bench.subscribe(tenant["id"], name)
            results["subscribe"].append(bench.until(http, path, token, 200))
            bench.revoke(name)
            results["revoke"].append(bench.until(http, path, token, 503))
            print(
                f"cycle {cycle + 1}/{args.cycles}: "
                + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in results.items())
            )
    failed = sum(n for status, n in load.statuses.items() if status != 200)
    figures: dict[str, Any] = {"routes_loaded": args.routes + 1, "cycles": args.cycles}
    for kind, values in results.items():
        figures.update({f"{kind}_{key}": value for key, value in summary(values).items()})
    figures["p95_s"] = max(figures[f"{kind}_p95_s"] for kind in results)
    figures["in_flight_requests"] = sum(load.statuses.values()) + sum(load.errors.values())
    figures["in_flight_failed"] = failed + sum(load.errors.values())
    figures["in_flight_statuses"] = {str(k): v for k, v in sorted(load.statuses.items())}
    figures["in_flight_errors"] = dict(load.errors)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--load-threads", type=int, default=2)
    args = parser.parse_args()

    platform = Platform(in_flight=2)
    gateway_port = free_port()
    gateway = start(
        [sys.executable, "-m", "taas.cli.gateway", "run", "--port", str(gateway_port)],
        platform.env,
        "hotplug-gateway.log",
    )
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    made: list[str] = []
    bench = None
    try:
        wait_http(gateway_url + "/_gateway/readyz", "the gateway")
        bench, tenant, token, steady = prepare(platform, gateway_url, args.routes, made)
        write_results("hotplug", measure(bench, tenant, token, steady, args))
    finally:
        remove_loaded_routes(platform.env["TAAS_DATABASE_URL"])
        for process in (gateway, bench.plugin if bench else None):
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
