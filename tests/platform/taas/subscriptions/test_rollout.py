"""Version changes and scaling of a module that runs as pods on the real node, under load
through the gateway: a pool bank moves to the new version's shared Deployment and a silo
bank's own Deployment rolls in place, both without a failed call; an autoscaled version
gets a second replica when its pods are busy."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from catalog_support import VendorAccount, wait_version
from node_support import example_image_manifest, push_app_image
from support import systems_token, unique_slug, wait_for, wait_operation
from taas.integrations.systems import systems
from taas.localstack.stack import LocalStack

APPLICATION = {"amount": 90000, "term_months": 36, "monthly_income": 15000}
AUTOSCALED = {"cpu": "20m", "memory": "128Mi", "replicas": 1, "max_replicas": 2,
              "cpu_target_percent": 50}  # fmt: skip


@dataclass
class Load:
    """Calls one bank makes through the gateway, one after another, until stopped."""

    gateway_url: str
    tenant: dict[str, Any]
    module: str
    idempotency_keys: bool = False
    answers: list[tuple[int, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        token = systems_token(self.tenant, "loan-precheck.use")
        url = f"{self.gateway_url}/t/{self.tenant['slug']}/{self.module}/precheck"
        with httpx.Client(timeout=10) as client:
            while not self._stop.wait(0.045):  # about 20 calls a second: two fit the limit
                headers = {"Authorization": f"Bearer {token}"}
                if self.idempotency_keys:
                    headers["Idempotency-Key"] = str(uuid.uuid4())
                try:
                    answer = client.post(url, json=APPLICATION, headers=headers)
                except httpx.HTTPError as exc:
                    self.answers.append((0, repr(exc)))
                    continue
                served = answer.headers.get("x-served-by", "")
                why = "" if served else answer.text[:300]
                self.answers.append((answer.status_code, served or f"{time.time():.1f} {why}"))

    def failures(self) -> list[tuple[int, str]]:
        return [answer for answer in self.answers if answer[0] != 200]


@pytest.fixture
def loads() -> Iterator[Callable[[Load], Load]]:
    threads: list[tuple[Load, threading.Thread]] = []

    def start(load: Load) -> Load:
        thread = threading.Thread(target=load.run, daemon=True)
        thread.start()
        threads.append((load, thread))
        return load

    yield start
    for load, thread in threads:
        load._stop.set()
        thread.join(timeout=15)


def _publish_two_versions(
    stack: LocalStack, api: Any, operator: dict[str, str], vendor: VendorAccount
) -> str:
    """An image-only plugin published in two versions: 1.0.0, and 1.1.0 autoscaled."""
    image = push_app_image(stack, "example-plugin")
    name = unique_slug("roll")
    for version, resources in (("1.0.0", None), ("1.1.0", AUTOSCALED)):
        body = example_image_manifest(image, name) | {"version": version}
        if resources is not None:
            body["resources"] = resources
        url = f"/v1/vendors/{vendor.slug}/plugins"
        submitted = api.post(url, json=body, headers=vendor.headers())
        assert submitted.status_code == 202, submitted.text
        validated = wait_version(api, operator, name, version, {"validated", "invalid"}, 180)
        assert validated["status"] == "validated", validated["validation"]
        approve = f"/v1/plugins/{name}/versions/{version}/approve"
        approved = api.post(approve, json={}, headers=operator)
        assert approved.status_code == 200, approved.text
    return name


def _subscribe_pinned(
    api: Any, operator: dict[str, str], tenant: dict[str, Any], name: str
) -> None:
    body = {"module": name, "version": "1.0.0"}
    accepted = api.post(f"/v1/tenants/{tenant['id']}/subscriptions", json=body, headers=operator)
    assert accepted.status_code == 202, accepted.text
    done = wait_operation(api, operator, tenant["id"], accepted.json()["operation"]["id"])
    assert done["status"] == "succeeded", done


def test_a_version_change_under_load_fails_no_call_and_the_new_version_scales_out(
    stack: LocalStack,
    api: Any,
    operator: dict[str, str],
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    make_vendor: Callable[[], VendorAccount],
    loads: Callable[[Load], Load],
) -> None:
    """Both banks call the whole time. 1.1.0 asks for 20m CPU and up to two replicas at 50%:
    once the silo bank is on it, the metrics server reports its pod's use and the
    HorizontalPodAutoscaler adds a replica."""
    name = _publish_two_versions(stack, api, operator, make_vendor())
    pool = make_tenant(tier="pool")["tenant"]
    silo = make_tenant(tier="silo")["tenant"]
    for tenant in (pool, silo):
        _subscribe_pinned(api, operator, tenant, name)
    pool_load = loads(Load(gateway.url, pool, name))
    # The silo bank's pod is replaced in place: a call can meet a pooled connection that the
    # old pod closed as it stopped, which the gateway repeats only for an idempotent call.
    silo_load = loads(Load(gateway.url, silo, name, idempotency_keys=True))
    wait_for(lambda: len(pool_load.answers) > 20 and len(silo_load.answers) > 20, timeout=30,
             what="calls to flow")  # fmt: skip

    moves = {}
    for tenant in (pool, silo):
        url = f"/v1/tenants/{tenant['id']}/subscriptions/{name}"
        moved = api.patch(url, json={"version": "1.1.0"}, headers=operator)
        assert moved.status_code == 202, moved.text
        moves[tenant["id"]] = moved.json()["operation"]["id"]
    for tenant_id, operation_id in moves.items():
        done = wait_operation(api, operator, tenant_id, operation_id, 240)
        assert done["status"] == "succeeded", done

    # The old version's shared pods drain (5 s) and stop while the calls go on.
    kube, modules = systems().kubernetes, systems().modules
    old_shared = f"{name}-v1-0-0"
    wait_for(
        lambda: not kube.list_names("v1", "Pod", modules.shared_namespace,
                                    f"taas.io/module-workload={old_shared}"),
        timeout=60, what="the old version's shared pods to stop",
    )  # fmt: skip
    settled = len(pool_load.answers)
    wait_for(lambda: len(pool_load.answers) > settled + 100, timeout=60, what="calls after it")
    assert pool_load.answers[0][1].startswith(f"{old_shared}-")
    assert pool_load.answers[-1][1].startswith(f"{name}-v1-1-0-")  # the new version answers
    assert len({pod for _, pod in silo_load.answers}) >= 2  # the old pod, then the new one

    # Scaling out: the silo bank's own Deployment of 1.1.0 is autoscaled.
    namespace, workload = f"tenant-{silo['slug']}", f"mod-{name}"
    scaler = ("autoscaling/v2", "HorizontalPodAutoscaler", workload, namespace)
    spec = (kube.read(*scaler) or {})["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 2)
    loads(Load(gateway.url, silo, name))  # a second stream of calls

    def ready_replicas() -> int:
        deployment = kube.read("apps/v1", "Deployment", workload, namespace) or {}
        return int((deployment.get("status") or {}).get("readyReplicas") or 0)

    deadline = time.monotonic() + 180
    while ready_replicas() < 2:
        status = (kube.read(*scaler) or {}).get("status")
        assert time.monotonic() < deadline, f"no second replica; the autoscaler says {status}"
        time.sleep(2)
    wait_for(lambda: len({pod for _, pod in silo_load.answers[-60:]}) >= 2, timeout=60,
             what="the new replica to answer calls too")  # fmt: skip
    for load in (pool_load, silo_load):
        failures = [why[:200] for _, why in load.failures()]
        assert failures == [], (load.tenant["tier"], len(failures), failures[:3])
