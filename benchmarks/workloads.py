"""Modules as pods on the real node: start times, images, the gateway to a pod against the
same module as a host process, and what the node costs in memory.

Runs against the platform `taas demo` leaves running (its API, worker and gateway, its
operator login and its vendor ``demo-fintech``), on pool tenants of its own (offboarded at
the end). Measured, each in this one run:

- images: build (cached base and dependency layers: what a code change costs) and size
  of each image;
- pods: ``--pods`` Deployments of the example plugin's image (already on the node), each
  timed from creation to Ready;
- subscriptions: ``--cycles`` times, a first pool subscriber (the version's shared
  Deployment is created) and two tenants joining it, each timed from the subscription
  request to the first 200 through the gateway; then all three unsubscribe, so the next
  cycle's first subscriber starts the Deployment again;
- gateway: wrk for ``--seconds`` against the plugin as a pod and the same plugin as a host
  process (a development plugin, by URL), one after the other: requests per second, p99,
  and requests per second of gateway CPU;
- node restart: kubelet and containerd stopped and started (`taas stack down/up`), timed
  until the stack is healthy again and until the pod answers through the gateway again;
- memory: resident size of each node component.

    python benchmarks/workloads.py [--pods 10] [--cycles 5] [--seconds 10]

Targets (issue 12): warm node start under 60 s; first pool subscriber ready (first 200)
p95 at most 10 s; a tenant joining a running Deployment at most 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from _platform import percentile, rss_mb
from _results import stack_env, write_results
from gateway import wrk
from taas.cli.demo_platform import (
    bank_token,
    client_token,
    printed_manifest,
    publish,
    pushed_images,
    vendor_credentials,
)
from taas.cli.session import ApiClient, local_stack
from taas.cli.tenants import follow
from taas.integrations.spec import ModuleSpec
from taas.integrations.systems import systems
from taas.kit.errors import TaasError
from taas.kit.oci import RegistryClient
from taas.kit.settings import StackSettings
from taas.localstack.app_images import RECIPES, ImageBuilder, checkout
from taas.localstack.components import Registry
from taas.localstack.process import PidFile

TAAS = str(Path(sys.executable).with_name("taas"))
PLUGIN = Path(__file__).resolve().parents[1] / "services" / "example_plugin" / "app.py"
NODE = ("containerd", "kubelet", "kube-proxy", "coredns", "kube-router", "node-relay")
NODE_PROCESSES = (*NODE, "metrics-server", "registry")
VENDOR = "demo-fintech"
SCOPE = "loan-precheck.use"  # the example plugin's
UNLIMITED_RPS = 100_000  # rate limits far above what wrk sends: every call is forwarded


def progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def summary(values: list[float], prefix: str) -> dict[str, float]:
    return {
        f"{prefix}_p50_s": round(statistics.median(values), 3),
        f"{prefix}_p95_s": round(percentile(values, 95), 3),
        f"{prefix}_max_s": round(max(values), 3),
    }


def image_figures() -> dict[str, float]:
    stack = local_stack()
    builder = ImageBuilder(stack.ctx.log, stack.ctx.paths, checkout())
    figures: dict[str, float] = {}
    with RegistryClient(Registry(stack.ctx).address, ca=stack.ctx.pki.ca.cert) as client:
        for recipe in RECIPES:
            started = time.perf_counter()
            built = builder.push(recipe, client)
            figures[f"image_{recipe.name}_warm_build_s"] = round(time.perf_counter() - started, 2)
            figures[f"image_{recipe.name}_mb"] = round(built.compressed_bytes / 1e6, 1)
    return figures


def pod_starts(image: str, count: int) -> list[float]:
    """Deployments of an image already on the node, each timed to Ready."""
    modules, kube = systems().modules, systems().kubernetes
    namespace = f"bench-pods-{uuid.uuid4().hex[:6]}"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        },
        None,
        field="metadata",
    )
    times = []
    try:
        for index in range(count):
            module = ModuleSpec(name=f"p{index}", version="1", image=image, port=8080,
                                upstream_url=None)  # fmt: skip
            kube.apply(modules.signing_secret(module, module.workload, "bench"), namespace,
                       field="data")  # fmt: skip
            started = time.perf_counter()
            kube.apply(modules.deployment(module, module.workload), namespace)
            modules.wait_rollout(namespace, module.workload, module)
            times.append(time.perf_counter() - started)
    finally:
        kube.delete("v1", "Namespace", namespace, None)
    return times


class Bench:
    """The demo's platform, as its operator and vendor."""

    def __init__(self) -> None:
        self.operator = ApiClient()
        self.gateway = f"http://127.0.0.1:{StackSettings().gateway_port}"
        self.credentials = vendor_credentials(self.operator, VENDOR, "Demo Fintech Ltd")
        self.signing_secret = self.credentials["signing_secret"]
        self.tenants: list[dict[str, Any]] = []

    @property
    def vendor(self) -> ApiClient:
        """The vendor, with a fresh token (its tokens live minutes)."""
        keys = self.credentials
        token = client_token(keys["token_url"], keys["client_id"], keys["client_secret"])
        return ApiClient(token=token)

    def tenant(self) -> dict[str, Any]:
        slug = f"bench-w-{uuid.uuid4().hex[:6]}"
        accepted = self.operator.request(
            "POST",
            "/v1/tenants",
            json={"slug": slug, "display_name": slug, "tier": "pool", "region": "cn-east-1",
                  "contacts": [{"name": "Bench", "email": "bench@example.com"}],
                  "quotas": {"requests_per_second": UNLIMITED_RPS}},
        )  # fmt: skip
        follow(self.operator, accepted["tenant"]["id"], accepted["operation"]["id"])
        tenant: dict[str, Any] = self.operator.request(
            "GET", f"/v1/tenants/{accepted['tenant']['id']}"
        )
        self.tenants.append(tenant)
        return tenant

    def publish(self, manifest: dict[str, Any]) -> str:
        return publish(self.operator, self.vendor, VENDOR, manifest, "benchmark")

    def subscribe_until_200(self, tenant: dict[str, Any], module: str) -> float:
        """Subscribe; seconds until the bank's first 200 through the gateway (its token
        asks for the plugin's scope, which the subscription grants). It asks the API for
        the subscription's status every 0.1 s and only then for a token and the call, so
        that the client's own polling does not take the node's CPU from the pod starting."""
        token_for = bank_token(tenant)  # the bank's credentials, read once
        started = time.perf_counter()
        self.operator.request(
            "POST",
            f"/v1/tenants/{tenant['id']}/subscriptions",
            json={"module": module, "rate_limit_rps": UNLIMITED_RPS},
        )
        url = f"{self.gateway}/t/{tenant['slug']}/{module}/healthz"
        status_url = f"/v1/tenants/{tenant['id']}/subscriptions/{module}"
        deadline = started + 180
        while time.perf_counter() < deadline:
            if self.operator.request("GET", status_url).get("status") == "active":
                token = token_for(SCOPE)
                answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
                if answer.status_code == 200:
                    return time.perf_counter() - started
            time.sleep(0.1)
        raise RuntimeError(f"{module} never answered {tenant['slug']}")

    @staticmethod
    def token(tenant: dict[str, Any]) -> str | None:
        """The bank's token with the plugin's scope; None until the scope is granted."""
        try:
            return bank_token(tenant)(SCOPE)
        except TaasError:
            return None

    def unsubscribe(self, tenant: dict[str, Any], module: str) -> None:
        accepted = self.operator.request(
            "DELETE", f"/v1/tenants/{tenant['id']}/subscriptions/{module}"
        )
        follow(self.operator, tenant["id"], accepted["operation"]["id"])

    def offboard(self) -> None:
        """Unsubscribe the benchmark's tenants (the shared Deployments go with their last
        subscriber, so the next run's first subscriber is a first one), then offboard them
        (which waits out its grace)."""
        for tenant in self.tenants:
            for subscription in self.operator.request(
                "GET", f"/v1/tenants/{tenant['id']}/subscriptions"
            ):
                self.unsubscribe(tenant, subscription["module"])
        for tenant in self.tenants:
            subprocess.run(
                [TAAS, "tenants", "offboard", tenant["id"], "--reason", "benchmark done"],
                check=False,
                capture_output=True,
            )


def subscriptions(bench: Bench, image: str, cycles: int) -> tuple[list[float], list[float], str]:
    manifest = printed_manifest([str(PLUGIN)], image) | {"name": "bench-precheck"}
    module = "bench-precheck"
    bench.publish(manifest)
    tenants = [bench.tenant() for _ in range(3)]
    first, join = [], []
    for cycle in range(cycles):
        first.append(bench.subscribe_until_200(tenants[0], module))
        join += [bench.subscribe_until_200(tenant, module) for tenant in tenants[1:]]
        progress(
            f"cycle {cycle + 1}: first {first[-1]:.2f}s, joins {join[-2]:.2f}s {join[-1]:.2f}s"
        )
        if cycle < cycles - 1:
            for tenant in tenants:
                bench.unsubscribe(tenant, module)
    for tenant in tenants[1:]:
        bench.unsubscribe(tenant, module)
    return first, join, tenants[0]["slug"]


def gateway_rounds(bench: Bench, image: str, tenant_slug: str, seconds: int) -> dict[str, float]:
    """wrk through the gateway to the plugin as a pod with a core (as much as the host process
    may use), as a host process, and as a pod with the manifest's own 100m (400m limit)."""
    tenant = next(t for t in bench.tenants if t["slug"] == tenant_slug)
    gateway_pid = PidFile(StackSettings().state_dir / "run" / "platform-gateway.pid").running_pid()
    port = 58299
    process = subprocess.Popen(
        [sys.executable, str(PLUGIN), "--port", str(port)],
        env={"TAAS_SIGNING_SECRET": bench.signing_secret, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        dev = printed_manifest([str(PLUGIN)], "x") | {"name": "bench-precheck-dev"}
        dev["upstream"] = {"url": f"http://127.0.0.1:{port}"}
        # The same image with a core reserved and two allowed, as the host process has.
        core = printed_manifest([str(PLUGIN)], image) | {"name": "bench-precheck-core"}
        core["resources"] = {"cpu": "1", "cpu_limit": "2", "memory": "128Mi"}
        time.sleep(2)
        for manifest in (dev, core):
            bench.publish(manifest)
            bench.subscribe_until_200(tenant, manifest["name"])
        token = bench.token(tenant)
        rounds = {}
        for label, module in (
            ("pod", "bench-precheck-core"),
            ("process", "bench-precheck-dev"),
            ("small_pod", "bench-precheck"),
        ):
            url = f"{bench.gateway}/t/{tenant_slug}/{module}/healthz"
            rounds[label] = wrk(url, token, seconds, 16, gateway_pid)
            progress(f"{label}: {rounds[label].rps:.0f} req/s, p99 {rounds[label].p99_ms:.1f} ms")
    finally:
        process.terminate()
        process.wait(timeout=10)
    pod, host, small = rounds["pod"], rounds["process"], rounds["small_pod"]
    return {
        "small_pod_rps": round(small.rps, 1),
        "small_pod_p99_ms": round(small.p99_ms, 2),
        "pod_rps": round(pod.rps, 1),
        "process_rps": round(host.rps, 1),
        "pod_p99_ms": round(pod.p99_ms, 2),
        "process_p99_ms": round(host.p99_ms, 2),
        "pod_rps_per_gateway_core": round(pod.rps_per_core, 1),
        "process_rps_per_gateway_core": round(host.rps_per_core, 1),
        "pod_vs_process_rps_ratio": round(pod.rps / host.rps, 3),
        "non_2xx": sum(one.non_2xx + one.socket_errors for one in rounds.values()),
    }


def node_restart(bench: Bench, tenant_slug: str) -> dict[str, float]:
    tenant = next(t for t in bench.tenants if t["slug"] == tenant_slug)
    subprocess.run([TAAS, "stack", "down", *NODE], check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([TAAS, "stack", "up"], check=True, capture_output=True)
    up_s = time.perf_counter() - started
    url = f"{bench.gateway}/t/{tenant_slug}/bench-precheck/healthz"
    token = bench.token(tenant)  # Keycloak is not part of the node
    while httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code != 200:
        if time.perf_counter() - started > 300:
            raise RuntimeError("the module never answered after the node restart")
        time.sleep(0.2)
    return {
        "node_warm_start_s": round(up_s, 2),
        "routes_recover_after_node_restart_s": round(time.perf_counter() - started, 2),
    }


def node_memory() -> dict[str, float]:
    paths = local_stack().ctx.paths
    figures = {}
    for name in NODE_PROCESSES:
        pid = PidFile(paths.pid(name)).running_pid()
        if pid is not None:
            figures[f"rss_{name.replace('-', '_')}_mb"] = round(rss_mb(pid), 1)
    figures["rss_node_total_mb"] = round(sum(figures.values()), 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    os.environ.update(stack_env())
    figures: dict[str, Any] = {"pods": args.pods, "cycles": args.cycles}
    progress("images")
    figures |= image_figures()
    image = pushed_images(["example-plugin"])["example-plugin"]
    progress("pod starts")
    figures |= summary(pod_starts(image, args.pods), "pod_start")
    bench = Bench()
    try:
        progress("subscriptions")
        first, join, slug = subscriptions(bench, image, args.cycles)
        figures |= summary(first, "first_subscriber_ready") | summary(join, "join_running")
        progress("gateway: pod against process")
        figures |= gateway_rounds(bench, image, slug, args.seconds)
        figures |= node_memory()
        progress("node restart")
        figures |= node_restart(bench, slug)
    finally:
        bench.offboard()
    figures["targets_met"] = (
        figures["node_warm_start_s"] < 60
        and figures["first_subscriber_ready_p95_s"] <= 10
        and figures["join_running_p95_s"] <= 1
    )
    write_results("workloads", figures)


if __name__ == "__main__":
    main()
