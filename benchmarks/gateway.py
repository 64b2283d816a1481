"""What the gateway costs: the same tiny upstream called directly, through nginx, through TaaS.

Starts its own API, worker (scratch database ``taas_bench``) and gateway on the running
local stack, provisions one real pool tenant, and inserts a route to an upstream that is
an nginx answering ``return 200`` with a small JSON body (so the proxy dominates). Then,
with the same load tool (wrk) for each target:

- ``direct``: the upstream itself;
- ``nginx``: a second nginx as a plain reverse proxy (keep-alive to the upstream);
- ``taas``: the gateway with every check on: token (cached verification), tenant,
  subscription, scopes, rate limits and monthly quota in Redis (limits too high to
  trigger), signed identity headers, metering to PostgreSQL. Tracing exporter ``none``.

Each target gets a throughput round (``--connections`` open connections) and
``--latency-rounds`` latency rounds with one connection (so latency is service time, not
queueing), taken in turns across targets; the medians of their p50 and p99 are reported.
Throughput is reported per core of the proxy's own CPU time (utime+stime from /proc
before and after), so the figure does not depend on what else shares the machine. nginx
and the gateway each run one worker process; nginx runs with its own config in a temp
dir on loopback ports.

    python benchmarks/gateway.py [--seconds 10] [--connections 32] [--latency-rounds 3]
                                 [--profile gateway.prof]

``--profile`` runs the gateway under cProfile, writes its stats (pstats) to the file and
only prints the (slowed down) figures.

Targets: at least 3,000 requests/s per core of gateway CPU with all checks on, and under
2 ms p99 added latency (median gateway p99 minus median direct p99, one connection).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from _results import write_results
from hotplug import client_token, free_port, start, wait_http
from provisioning import Platform, offboard_all, provision

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
NGINX_BODY = '{"ok":true,"module":"bench"}'


# --------------------------------------------------------------------------- measuring


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and its children that are still running, in seconds."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


@dataclass
class Round:
    """One wrk run: requests, non-2xx answers, socket errors, rate and latency percentiles."""

    requests: int
    non_2xx: int
    socket_errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_s: float

    @property
    def rps_per_core(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s else float("nan")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text}")
    return float(match.group(1)) * UNITS[match.group(2)]


def wrk(url: str, token: str | None, seconds: int, connections: int, pid: int | None) -> Round:
    """Run wrk against ``url``; CPU time is counted for ``pid`` (the proxy) if given."""
    argv = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before if pid else 0.0
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = re.search(r"^\s+(\d+) requests in", out, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    if requests is None or rate is None or set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return Round(
        requests=int(requests.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        rps=float(rate.group(1)),
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        cpu_s=cpu,
    )


# --------------------------------------------------------------------------- servers


class Nginx:
    """An nginx with one worker and its own config, in the foreground of its own session."""

    def __init__(self, name: str, workdir: Path, server: str) -> None:
        self.port = free_port()
        prefix = workdir / name
        prefix.mkdir()
        config = prefix / "nginx.conf"
        config.write_text(
            f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {server.replace("PORT", str(self.port))}
}}
"""
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def upstream_nginx(workdir: Path) -> Nginx:
    return Nginx(
        "upstream",
        workdir,
        "server { listen 127.0.0.1:PORT; location / { default_type application/json; "
        f"return 200 '{NGINX_BODY}'; }} }}",
    )


def proxy_nginx(workdir: Path, upstream: Nginx) -> Nginx:
    return Nginx(
        "proxy",
        workdir,
        f"upstream backend {{ server 127.0.0.1:{upstream.port}; keepalive 128; }}\n"
        "    server { listen 127.0.0.1:PORT; location / { proxy_pass http://backend; "
        'proxy_http_version 1.1; proxy_set_header Connection ""; } }',
    )


def gateway_argv(port: int, profile: Path | None) -> list[str]:
    argv = ["-m", "taas.cli.gateway", "run", "--port", str(port)]
    if profile is not None:
        return [sys.executable, "-m", "cProfile", "-o", str(profile), *argv]
    return [sys.executable, *argv]


# --------------------------------------------------------------------------- route


def add_route(database_url: str, tenant_id: str, upstream_url: str) -> tuple[str, uuid.UUID]:
    """A vendor, a published version and a subscription with limits too high to trigger."""
    module = f"bench{uuid.uuid4().hex[:8]}"
    vendor_id, version_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO vendors (id, slug, display_name, contact_email, client_id,"
            " signing_secret, status) VALUES (%s, %s, 'Gateway bench', 'b@example.com',"
            " 'bench', %s, 'active')",
            (vendor_id, f"gb{vendor_id.hex[:8]}", uuid.uuid4().hex),
        )
        conn.execute(
            "INSERT INTO plugin_versions (id, vendor_id, name, version, capability, status,"
            " manifest, validation, submitted_by, submitted_by_subject) VALUES"
            " (%s, %s, %s, '1.0.0', 'other', 'published', %s, '{}', 'bench', 'bench')",
            (version_id, vendor_id, module, Jsonb({"scopes": ["profile"], "timeout_s": 10})),
        )
        conn.execute(
            "INSERT INTO subscriptions (id, tenant_id, module, plugin_version_id, upstream_url,"
            " status, rate_limit_rps, monthly_quota, requested_by) VALUES"
            " (%s, %s, %s, %s, %s, 'active', 1000000, 1000000000000, 'bench')",
            (uuid.uuid4(), tenant_id, module, version_id, upstream_url),
        )
    return module, version_id


def remove_route(database_url: str, version_id: uuid.UUID) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        vendor = conn.execute(
            "SELECT vendor_id FROM plugin_versions WHERE id = %s", (version_id,)
        ).fetchone()
        conn.execute("DELETE FROM subscriptions WHERE plugin_version_id = %s", (version_id,))
        conn.execute("DELETE FROM plugin_versions WHERE id = %s", (version_id,))
        if vendor is not None:
            conn.execute("DELETE FROM vendors WHERE id = %s", (vendor[0],))


def metered_calls(database_url: str, tenant_id: str, module: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status_class, sum(calls) FROM usage_daily WHERE tenant_id = %s"
            " AND module = %s GROUP BY status_class",
            (tenant_id, module),
        ).fetchall()
    return {status_class: int(calls) for status_class, calls in rows}


def tenant_token(platform: Platform, tenant: dict[str, Any]) -> str:
    from taas.integrations.spec import Quotas, TenantSpec  # noqa: PLC0415 - needs the env
    from taas.integrations.systems import Systems  # noqa: PLC0415
    from taas.kit.settings import AppSettings  # noqa: PLC0415

    os.environ.update(platform.env)
    spec = TenantSpec(
        id=uuid.UUID(tenant["id"]),
        slug=tenant["slug"],
        tier=tenant["tier"],
        region=tenant["region"],
        quotas=Quotas(**tenant["quotas"]),
    )
    secret = Systems.from_settings(AppSettings()).kubernetes.read_credentials(spec)
    token_url = f"{secret['issuer']}/protocol/openid-connect/token"
    return client_token(token_url, secret["client_id"], secret["client_secret"])


def prepare(
    platform: Platform, upstream: Nginx, gateway_url: str, made: list[str]
) -> tuple[str, str, uuid.UUID, str, str]:
    """A real pool tenant with a high rate limit, its route to the upstream and a token:
    (tenant id, module, version id, token, path); returns once the gateway serves it."""
    with httpx.Client(base_url=platform.url, timeout=30) as http:
        tenant_id, _ = provision(platform, http)
        made.append(tenant_id)
        tenant = http.patch(
            f"/v1/tenants/{tenant_id}",
            json={"quotas": {"requests_per_second": 100_000}},
            headers=platform.headers(),
        ).json()["tenant"]
    module, route = add_route(platform.env["TAAS_DATABASE_URL"], tenant_id, upstream.url)
    token = tenant_token(platform, tenant)
    path = f"/t/{tenant['slug']}/{module}/score"
    deadline = time.monotonic() + 30
    while (
        httpx.get(gateway_url + path, headers={"Authorization": f"Bearer {token}"}).status_code
        != 200
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway never served the bench route")
        time.sleep(0.1)
    return tenant_id, module, route, token, path


# --------------------------------------------------------------------------- main


def measure(
    targets: dict[str, tuple[str, int | None, bool]],
    token: str,
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """Per target (url, proxy pid, needs a token): a warm-up and a throughput round, then
    ``--latency-rounds`` one-connection rounds taken in turns across the targets, so a
    passing disturbance on the machine does not land on one target only."""
    results: dict[str, dict[str, Any]] = {name: {"latency": []} for name in targets}
    for name, (url, pid, needs_token) in targets.items():
        bearer = token if needs_token else None
        progress(f"{name}: warm-up, then throughput with {args.connections} connections")
        results[name]["warm_up"] = wrk(url, bearer, 2, args.connections, pid)
        results[name]["throughput"] = wrk(url, bearer, args.seconds, args.connections, pid)
    for turn in range(args.latency_rounds):
        progress(f"latency, one connection: round {turn + 1} of {args.latency_rounds}")
        for name, (url, pid, needs_token) in targets.items():
            bearer = token if needs_token else None
            results[name]["latency"].append(wrk(url, bearer, args.seconds, 1, pid))
    return results


def progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def figures_of(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    latency: dict[str, dict[str, float]] = {}
    for name, rounds in results.items():
        throughput: Round = rounds["throughput"]
        quiet: list[Round] = rounds["latency"]
        latency[name] = {
            "p50": statistics.median(r.p50_ms for r in quiet),
            "p99": statistics.median(r.p99_ms for r in quiet),
        }
        figures[f"{name}_rps"] = round(throughput.rps, 1)
        if throughput.cpu_s:
            figures[f"{name}_cpu_s"] = round(throughput.cpu_s, 2)
            figures[f"{name}_rps_per_core"] = round(throughput.rps_per_core, 1)
        figures[f"{name}_p50_ms"] = round(latency[name]["p50"], 3)
        figures[f"{name}_p99_ms"] = round(latency[name]["p99"], 3)
        figures[f"{name}_p99_ms_per_round"] = [round(r.p99_ms, 3) for r in quiet]
        figures[f"{name}_loaded_p50_ms"] = round(throughput.p50_ms, 3)
        figures[f"{name}_loaded_p99_ms"] = round(throughput.p99_ms, 3)
        every: list[Round] = [rounds["warm_up"], throughput, *quiet]
        figures[f"{name}_requests"] = sum(r.requests for r in every)
        figures[f"{name}_errors"] = sum(r.non_2xx + r.socket_errors for r in every)
    for name in ("nginx", "taas"):
        for q in ("p50", "p99"):
            added = latency[name][q] - latency["direct"][q]
            figures[f"{name}_added_{q}_ms"] = round(added, 3)
    figures["added_p99_ms"] = figures["taas_added_p99_ms"]
    figures["taas_to_nginx_rps_per_core"] = round(
        figures["taas_rps_per_core"] / figures["nginx_rps_per_core"], 4
    )
    figures["taas_to_direct_rps"] = round(figures["taas_rps"] / figures["direct_rps"], 4)
    figures["nginx_to_direct_rps"] = round(figures["nginx_rps"] / figures["direct_rps"], 4)
    figures["target_3000_rps_per_core"] = figures["taas_rps_per_core"] >= 3000
    figures["target_added_p99_under_2_ms"] = figures["added_p99_ms"] < 2
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured round")
    parser.add_argument("--connections", type=int, default=32, help="throughput round")
    parser.add_argument("--latency-rounds", type=int, default=3, help="one-connection rounds")
    parser.add_argument("--profile", type=Path, help="write the gateway's cProfile stats here")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install -y nginx wrk")

    workdir = Path(tempfile.mkdtemp(prefix="taas-bench-gateway-"))
    upstream = upstream_nginx(workdir)
    proxy = proxy_nginx(workdir, upstream)
    platform = Platform()
    env = {**platform.env, "TAAS_OTEL_EXPORTER": "none"}
    gateway_port = free_port()
    gateway = start(gateway_argv(gateway_port, args.profile), env, "gateway-bench.log")
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    made: list[str] = []
    route: uuid.UUID | None = None
    database_url = platform.env["TAAS_DATABASE_URL"]
    try:
        wait_http(f"{upstream.url}/", "the upstream nginx")
        wait_http(f"{proxy.url}/", "the proxy nginx")
        wait_http(f"{gateway_url}/_gateway/readyz", "the gateway")
        tenant_id, module, route, token, path = prepare(platform, upstream, gateway_url, made)
        targets = {
            "direct": (f"{upstream.url}/score", None, False),
            "nginx": (f"{proxy.url}/score", proxy.process.pid, False),  # master + worker
            "taas": (gateway_url + path, gateway.pid, True),
        }
        results = measure(targets, token, args)
        time.sleep(2.5)  # two metering flushes
        metered = metered_calls(database_url, tenant_id, module)
        figures = {
            "seconds_per_round": args.seconds,
            "connections": args.connections,
            "upstream": "nginx return 200 (one worker)",
            **figures_of(results),
            # Calls wrk sent plus the few of the set-up; a call still in flight when a wrk
            # round ends is served and metered but not counted by wrk.
            "taas_metered_calls": metered,
        }
        if args.profile:  # cProfile slows the gateway down: these figures are not results
            print(figures)
        else:
            write_results("gateway", figures)
    finally:
        if route is not None:
            remove_route(database_url, route)
        # uvicorn re-raises the signal it stopped on; after SIGINT (KeyboardInterrupt)
        # cProfile still writes its stats, after SIGTERM it would not.
        os.killpg(gateway.pid, signal.SIGINT if args.profile else signal.SIGTERM)
        gateway.wait(timeout=60)
        for server in (proxy, upstream):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        offboard_all(platform, made, in_flight=2)
        platform.stop()


if __name__ == "__main__":
    main()
