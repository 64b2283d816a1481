"""How fast the control plane turns a bank into an active tenant, and how that changes
as tenants accumulate: a curve over ``--points`` (tenants present).

Starts the platform's own API and worker (against a scratch database ``taas_bench``) on the
running local stack. At each point it first provisions background tenants until that many
are present (``--in-flight`` at a time; one in ten is silo, the rest pool), then measures:
create-to-active time of ``--count`` pool tenants one after another and ``--count`` with
``--in-flight`` at a time; one full reconcile pass (the bulk pass the worker runs, in a
fresh process, then once more in it as the worker's later passes run, with Keycloak
tokens kept; up to ``--per-tenant-max`` tenants also the old one-tenant-at-a-time pass,
for comparison); the peak memory (RSS and PSS) of the API, the worker with its pool
children, Keycloak and MinIO; and where the cluster put the pods (kwok nodes). Every
background silo tenant subscribes to a module the run publishes (the vendor's example
plugin, validated and approved as a vendor's would be), so each has its workload pod on
the kwok nodes; the run adds the fake nodes
those pods need (``--no-workloads`` leaves both out). Every tenant made is offboarded
(nothing kept) at the end, ``--in-flight`` at a time.

    python benchmarks/provisioning.py --points 0,200            # ~10 min on a quiet machine
    python benchmarks/provisioning.py --points 0,1000,2500,5000 # the full curve, hours
    python benchmarks/provisioning.py --cleanup                 # offboard what a stopped run left
    python benchmarks/provisioning.py --points 0,1000,2500,5000 --keep && make reset

With ``--keep`` the tenants stay (offboarding 5,000 one by one takes as long as making them);
``make reset`` then drops the whole stack's state, the benchmark's tenants with it.

An interrupted run leaves its tenants in ``taas_bench``; the next run (or ``--cleanup``)
offboards them before it starts afresh.

Targets (issue 11): at 5,000 tenants p95 no more than 1.2x the empty one, one reconcile pass
within 60 s, the worker within 600 MB.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from _platform import DATABASE, ROOT, Platform, cpu_s, percentile, rss_mb, stack_pids
from _results import stack_env, write_results
from taas.cli.session import local_stack
from taas.kit.settings import StackSettings
from taas.localstack.components.kwok import KWOK_NODE_ANNOTATION
from taas.localstack.kube import api_client, ensure_fake_nodes

__all__ = ["ROOT", "Platform", "offboard_all", "percentile", "provision", "rss_mb"]
SILO_EVERY = 10  # one background tenant in ten is silo: the tier of banks that need isolation


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


FILL_POLL_S = 0.5  # background tenants: their times are not figures, so the API is asked less


def provision(
    platform: Platform, http: httpx.Client, tier: str = "pool", poll_s: float = 0.05
) -> tuple[str, float]:
    """Create one tenant and wait until it is active; seconds from create to active."""
    started = time.perf_counter()
    body = {
        "slug": f"b{uuid.uuid4().hex[:10]}",
        "display_name": "Bench Bank",
        "region": "bench",
        "tier": tier,
    }
    response = http.post("/v1/tenants", json=body, headers=platform.headers())
    response.raise_for_status()
    tenant_id = response.json()["tenant"]["id"]
    while True:
        status = http.get(f"/v1/tenants/{tenant_id}", headers=platform.headers()).json()["status"]
        if status == "active":
            return tenant_id, time.perf_counter() - started
        if status == "failed":
            raise RuntimeError(f"tenant {tenant_id} failed to provision")
        time.sleep(poll_s)


def round_of(
    platform: Platform,
    count: int,
    in_flight: int,
    made: list[str],
    tiers: list[str] | None = None,
    *,
    poll_s: float = 0.05,
) -> dict[str, float]:
    tiers = tiers or ["pool"] * count
    started = time.perf_counter()
    with (
        httpx.Client(base_url=platform.url, timeout=30) as http,
        ThreadPoolExecutor(in_flight) as pool,
    ):
        results = list(pool.map(lambda tier: provision(platform, http, tier, poll_s), tiers))
    elapsed = time.perf_counter() - started
    made += [tenant_id for tenant_id, _ in results]
    seconds = [s for _, s in results]
    return {
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(percentile(seconds, 0.95), 3),
        "max_s": round(max(seconds), 3),
        "tenants_per_minute": round(count / elapsed * 60, 1),
    }


BENCH_NODE = "taas-kwok-bench-{}"
PODS_PER_NODE = 100  # a kwok node takes 110; room for the shared workloads and the system's


class Workloads:
    """A published module every background silo tenant subscribes to (its own Deployment in
    the tenant's namespace: one pod each), and the extra kwok nodes those pods need."""

    def __init__(self, platform: Platform, silo_tenants: int) -> None:
        from hotplug import Bench  # noqa: PLC0415 - hotplug imports this module

        self.platform = platform
        self.bench = Bench(platform, gateway_url="")
        self.module = f"bench-{uuid.uuid4().hex[:6]}"
        self.bench.validated(self.module)
        self.bench.publish(self.module)
        self.subscribed = 0
        nodes = math.ceil(silo_tenants / PODS_PER_NODE)
        self.nodes = [BENCH_NODE.format(i) for i in range(nodes)]
        ensure_fake_nodes(local_stack().ctx, self.nodes, KWOK_NODE_ANNOTATION)
        log(f"module {self.module} published; {nodes} more kwok nodes for its workloads")

    def subscribe(self, http: httpx.Client, tenant_id: str) -> None:
        """Subscribe the tenant and wait until its workload is deployed."""
        headers = self.platform.headers()
        response = http.post(
            f"/v1/tenants/{tenant_id}/subscriptions", json={"module": self.module}, headers=headers
        )
        response.raise_for_status()
        operation = response.json()["operation"]["id"]
        while True:
            ops = http.get(f"/v1/tenants/{tenant_id}/operations", headers=headers).json()
            status = next(o["status"] for o in ops if o["id"] == operation)
            if status == "succeeded":
                self.subscribed += 1
                return
            if status == "failed":
                raise RuntimeError(f"subscription of tenant {tenant_id} failed")
            time.sleep(FILL_POLL_S)

    def stop(self, *, remove_nodes: bool) -> None:
        self.bench.plugin.terminate()
        self.bench.plugin.wait(timeout=30)
        if remove_nodes:
            from kubernetes import client  # noqa: PLC0415 - only the clean-up needs it

            with api_client(local_stack().ctx) as api:
                for name in self.nodes:
                    client.CoreV1Api(api).delete_node(name)


def fill(
    platform: Platform,
    target: int,
    in_flight: int,
    made: list[str],
    workloads: Workloads | None = None,
) -> None:
    """Provision background tenants (pool and silo mixed) until ``target`` are present;
    with ``workloads``, each silo tenant then subscribes to its module."""
    while (missing := target - len(made)) > 0:
        batch = min(missing, 250)  # progress every batch; a failure loses one batch at most
        tiers = [
            "silo" if (len(made) + i) % SILO_EVERY == SILO_EVERY - 1 else "pool"
            for i in range(batch)
        ]
        first = len(made)
        figures = round_of(platform, batch, in_flight, made, tiers, poll_s=FILL_POLL_S)
        silo = [t for t, tier in zip(made[first:], tiers, strict=True) if tier == "silo"]
        if workloads is not None and silo:
            with (
                httpx.Client(base_url=platform.url, timeout=30) as http,
                ThreadPoolExecutor(in_flight) as pool,
            ):
                list(pool.map(lambda tenant: workloads.subscribe(http, tenant), silo))
        subscribed = f", {workloads.subscribed} subscribed" if workloads else ""
        log(f"{len(made)} present ({figures['tenants_per_minute']} tenants/min{subscribed})")


RECONCILE_SCRIPT = """
import json, sys, time
from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.tenants import reconciler
from taas.wiring import wire
wire()
listing, differed = {}, []
take_inventory, reconcile_tenant = reconciler.take_inventory, reconciler.reconcile_tenant

def listed(*args):  # the pass's own listing, by system
    inventory = take_inventory(*args)
    listing.update(inventory.seconds)
    return inventory

def repaired(session, s, tenant):  # a tenant the listing showed to differ
    differed.append(tenant.slug)
    return reconcile_tenant(session, s, tenant)

reconciler.take_inventory, reconciler.reconcile_tenant = listed, repaired
run = reconciler.reconcile_each if sys.argv[1] == "each" else reconciler.reconcile_all
started = time.perf_counter()
with new_session() as session:
    report = run(session, systems())
elapsed = time.perf_counter() - started
first_listing = dict(listing)
next_s, next_listing = None, None
if sys.argv[1] == "all":  # again, as the worker's later passes run: with the tokens kept
    started = time.perf_counter()
    with new_session() as session:
        run(session, systems())
    next_s, next_listing = time.perf_counter() - started, dict(listing)
print(json.dumps({"seconds": elapsed, "tenants": len(report), "listing_s": first_listing,
                  "next_seconds": next_s, "next_listing_s": next_listing,
                  "differed": len(differed) if sys.argv[1] == "all" else None,
                  "repaired": sum(1 for n in report.values() if n)}))
"""


def reconcile_pass(platform: Platform, kind: str) -> dict[str, float]:
    """One full pass, in a process of its own with the worker's settings."""
    out = subprocess.run(
        [sys.executable, "-c", RECONCILE_SCRIPT, kind],
        env=platform.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out.splitlines()[-1])
    tenants = max(1, result["tenants"])
    return {
        "s": round(result["seconds"], 2),
        "tenants": result["tenants"],
        "repaired": result["repaired"],
        **({"differed": result["differed"]} if result["differed"] is not None else {}),
        "ms_per_tenant": round(result["seconds"] * 1000 / tenants, 1),
        **({"listing_s": result["listing_s"]} if result["listing_s"] else {}),
        **(
            {"next_s": round(result["next_seconds"], 2), "next_listing_s": result["next_listing_s"]}
            if result["next_seconds"] is not None
            else {}
        ),
    }


def pods_by_node(platform: Platform) -> dict[str, Any]:
    """Where the cluster put every pod: the kwok nodes carry the workloads."""
    from kubernetes import client, config  # noqa: PLC0415 - only this figure needs it

    api = config.new_client_from_config(
        config_file=platform.env.get("TAAS_KUBECONFIG") or platform.env["KUBECONFIG"]
    )  # type: ignore[no-untyped-call]
    pods = client.CoreV1Api(api).list_pod_for_all_namespaces().items
    nodes = Counter(str((p.spec and p.spec.node_name) or "unscheduled") for p in pods)
    phases = Counter(str(p.status and p.status.phase) for p in pods)
    return {"pods": len(pods), "by_node": dict(nodes), "pending": phases["Pending"]}


def keycloak_caches() -> dict[str, dict[str, float]]:
    """Entries, evictions and hit ratio of Keycloak's realm and user caches (from its
    management port): a full cache sends reads to its database (docs/benchmarks.md)."""
    settings = StackSettings()
    metrics = httpx.get(
        f"http://{settings.host}:{settings.keycloak_management_port}/metrics", timeout=30
    ).text
    wanted = {
        "vendor_statistics_approximate_entries": "entries",
        "vendor_statistics_evictions": "evictions",
        "vendor_statistics_hit_ratio": "hit_ratio",
    }
    caches: dict[str, dict[str, float]] = {"realms": {}, "users": {}}
    for line in metrics.splitlines():
        name, _, rest = line.partition("{")
        cache = rest.partition('cache="')[2].partition('"')[0]
        if name in wanted and cache in caches:
            caches[cache][wanted[name]] = round(float(line.rsplit(" ", 1)[1]), 4)
    return caches


ALL_STACK = (
    "postgres",
    "keycloak",
    "redis",
    "minio",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
)
IDLE_WINDOW_S = 20.0


def idle_cpu(platform: Platform) -> dict[str, float]:
    """Share of one core each process uses while no request is made (a window of
    ``IDLE_WINDOW_S``): what the tenants present cost the machine at rest."""
    pids = {"api": platform.api.pid, "worker": platform.worker.pid, **stack_pids(ALL_STACK)}
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    time.sleep(IDLE_WINDOW_S)
    used = {name: (cpu_s(pid) - before[name]) / IDLE_WINDOW_S for name, pid in pids.items()}
    shares = {f"{name}_core_share": round(share, 3) for name, share in used.items()}
    return {"total_core_share": round(sum(used.values()), 3), **shares}


def measure_point(
    platform: Platform, args: argparse.Namespace, present: int, made: list[str]
) -> dict[str, Any]:
    platform.reset_peaks()
    log(f"{present} present: CPU at rest for {IDLE_WINDOW_S:.0f} s")
    at_rest = idle_cpu(platform)
    log(f"{present} present: {args.count} one after another")
    serial = round_of(platform, args.count, 1, made)
    log(f"{present} present: {args.count} with {args.in_flight} in flight")
    parallel = round_of(platform, args.count, args.in_flight, made)
    log(f"{len(made)} present: one reconcile pass")
    point: dict[str, Any] = {
        "tenants_present": present,
        "cpu_at_rest": at_rest,
        "serial": serial,
        "parallel": parallel,
        "reconcile_pass": reconcile_pass(platform, "all"),
    }
    if len(made) <= args.per_tenant_max:
        point["reconcile_pass_per_tenant"] = reconcile_pass(platform, "each")
    point["peak_mb"] = {name: round(value, 1) for name, value in platform.peak.items()}
    point["cluster"] = pods_by_node(platform)
    point["keycloak_caches"] = keycloak_caches()
    log(json.dumps(point))
    return point


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


def left_behind(database_url: str) -> list[str]:
    """Tenants a stopped run left in the scratch database (none when it does not exist)."""
    try:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT id FROM tenants WHERE status <> 'offboarded'")
            return [str(row[0]) for row in rows]
    except psycopg.OperationalError:
        return []


def cleanup(in_flight: int) -> None:
    admin_url = stack_env()["TAAS_DATABASE_URL"]
    left = left_behind(admin_url.rsplit("/", 1)[0] + "/" + DATABASE)
    if not left:
        return
    log(f"offboarding {len(left)} tenants a stopped run left behind")
    platform = Platform(fresh=False)
    try:
        offboard_all(platform, left, in_flight)
    finally:
        platform.stop()


def summary(points: list[dict[str, Any]]) -> dict[str, Any]:
    empty, last = points[0], points[-1]
    n = last["tenants_present"]
    figures: dict[str, Any] = {
        f"p95_ratio_{n}_to_empty": round(last["serial"]["p95_s"] / empty["serial"]["p95_s"], 3),
        f"parallel_p95_ratio_{n}_to_empty": round(
            last["parallel"]["p95_s"] / empty["parallel"]["p95_s"], 3
        ),
        f"reconcile_pass_s_at_{n}": last["reconcile_pass"]["s"],
        f"reconcile_next_pass_s_at_{n}": last["reconcile_pass"].get("next_s"),
        "worker_peak_rss_mb": max(p["peak_mb"]["worker"] for p in points),
        "worker_peak_pss_mb": max(p["peak_mb"]["worker_pss"] for p in points),
        "api_peak_rss_mb": max(p["peak_mb"]["api"] for p in points),
    }
    if n == 5000:
        figures["target_p95_ratio_at_most_1_2"] = figures["p95_ratio_5000_to_empty"] <= 1.2
        figures["target_reconcile_pass_within_60_s"] = figures["reconcile_pass_s_at_5000"] <= 60
    figures["target_worker_within_600_mb"] = figures["worker_peak_rss_mb"] <= 600
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="0,200", help="tenants present at each point")
    parser.add_argument("--count", type=int, default=50, help="tenants timed per round")
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--per-tenant-max", type=int, default=200)
    parser.add_argument("--worker-concurrency", type=int, default=None)
    parser.add_argument(
        "--warmup",
        type=int,
        default=30,
        help="tenants made before the first point (a fresh Keycloak is slow until its JIT warms)",
    )
    parser.add_argument(
        "--no-workloads",
        action="store_true",
        help="no module subscriptions for the background silo tenants (no pods)",
    )
    parser.add_argument("--cleanup", action="store_true", help="only offboard what was left")
    parser.add_argument(
        "--keep", action="store_true", help="leave the tenants made (then `make reset`)"
    )
    args = parser.parse_args()
    cleanup(args.in_flight)
    if args.cleanup:
        return
    wanted = sorted({int(p) for p in args.points.split(",")})
    platform = Platform(args.worker_concurrency) if args.worker_concurrency else Platform()
    made: list[str] = []
    points: list[dict[str, Any]] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the platform on the way out
    workloads = None
    try:
        if not args.no_workloads:
            workloads = Workloads(platform, max(wanted) // SILO_EVERY + 1)
        fill(platform, args.warmup, args.in_flight, made)
        for target in wanted:
            fill(platform, target, args.in_flight, made, workloads)
            points.append(measure_point(platform, args, len(made), made))
            figures = {
                "count": args.count,
                "in_flight": args.in_flight,
                "silo_share": 1 / SILO_EVERY,
                "silo_subscriptions": workloads.subscribed if workloads else 0,
                "points": points,
            }
            # after every point, so a run stopped on the way keeps the curve measured so far
            write_results("provisioning", {**summary(points), **figures})
    finally:
        if args.keep:
            log(
                f"kept the {len(made)} tenants made: `make reset` drops them with the stack's state"
            )
        else:
            log(f"offboarding the {len(made)} tenants made")
            offboard_all(platform, made, args.in_flight)
        if workloads is not None:
            workloads.stop(remove_nodes=not args.keep)
        platform.stop()


if __name__ == "__main__":
    main()
