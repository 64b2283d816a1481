"""An image-only plugin on the real node, the whole way: the vendor names only an image (by
digest), validation starts it in a sandbox namespace and checks the pod, the banks'
subscriptions run it as pods (pool: one shared Deployment; silo: the bank's own), the
gateway reaches them through their Services, and an image that cannot run fails with the
pod's reason and leaves nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from catalog_support import VendorAccount, subscribe, wait_version
from node_support import example_image_manifest, push_app_image
from support import systems_token, unique_slug, wait_for, wait_operation
from taas.integrations.sandbox import SANDBOX_LABEL
from taas.integrations.systems import systems
from taas.localstack.stack import LocalStack

APPLICATION = {"amount": 90000, "term_months": 36, "monthly_income": 15000}


@pytest.fixture(scope="module")
def example_image(stack: LocalStack) -> str:
    return push_app_image(stack, "example-plugin")


def _submit(
    api: Any, vendor: VendorAccount, image: str, name: str, version: str = "1.0.0"
) -> dict[str, Any]:
    body = example_image_manifest(image, name) | {"version": version}
    assert "url" not in body["upstream"]
    submitted = api.post(f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers())
    assert submitted.status_code == 202, submitted.text
    return body


def _sandboxes() -> list[str]:
    kube = systems().kubernetes
    return [
        item["metadata"]["name"]
        for item in kube.list_objects("v1", "Namespace", "", SANDBOX_LABEL)
        if item["metadata"].get("deletionTimestamp") is None
    ]


def _pods(namespace: str, module: str) -> list[dict[str, Any]]:
    selector = f"taas.io/module={module}"
    return systems().kubernetes.list_objects("v1", "Pod", namespace, selector)


def _precheck(gateway: Any, tenant: dict[str, Any], module: str) -> httpx.Response:
    token = systems_token(tenant, "loan-precheck.use")
    return httpx.post(
        f"{gateway.url}/t/{tenant['slug']}/{module}/precheck",
        json=APPLICATION,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_an_image_only_plugin_is_validated_and_served_by_pods(
    api: Any,
    operator: dict[str, str],
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    make_vendor: Callable[[], VendorAccount],
    example_image: str,
) -> None:
    vendor = make_vendor()
    name = unique_slug("img")
    _submit(api, vendor, example_image, name)
    validated = wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})
    checks = {check["name"]: check for check in validated["validation"]["checks"]}
    assert validated["status"] == "validated", validated["validation"]
    assert checks["image.runs"]["ok"]
    unsigned = [check for name, check in checks.items() if name.startswith("signature.unsigned")]
    assert unsigned  # the pod was sent unsigned calls ...
    assert all(check["ok"] for check in unsigned)  # ... and refused each
    wait_for(lambda: not _sandboxes(), timeout=30, what="the sandbox namespace to go")
    approved = api.post(f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=operator)
    assert approved.status_code == 200, approved.text

    pool = make_tenant(tier="pool")["tenant"]
    silo = make_tenant(tier="silo")["tenant"]
    subscribe(api, operator, pool, name)
    subscribe(api, operator, silo, name)

    modules = systems().modules
    shared = _pods(modules.shared_namespace, name)
    own = _pods(f"tenant-{silo['slug']}", name)
    assert len(shared) == 1
    assert len(own) == 1
    for pod in (*shared, *own):
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["containers"][0]["image"] == example_image
        assert pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"]

    for tenant, pod in ((pool, shared[0]), (silo, own[0])):
        answered = wait_for(
            lambda t=tenant: (r := _precheck(gateway, t, name)).status_code == 200 and r,
            timeout=10,
            what="the gateway to route to the module's Service",
        )
        assert answered.json()["tenant"] == tenant["slug"]
        assert answered.headers["x-served-by"] == pod["metadata"]["name"]  # that pod answered

    # The pool bank's subscription ends: its shared Deployment had no other user and goes.
    gone = api.delete(f"/v1/tenants/{pool['id']}/subscriptions/{name}", headers=operator)
    assert gone.status_code == 202, gone.text
    wait_operation(api, operator, pool["id"], gone.json()["operation"]["id"])
    kube = systems().kubernetes
    deployments = kube.list_names(
        "apps/v1", "Deployment", modules.shared_namespace, f"taas.io/module={name}"
    )
    assert deployments == []


def test_an_image_that_cannot_be_pulled_is_invalid_with_the_pods_reason(
    api: Any,
    operator: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    example_image: str,
) -> None:
    vendor = make_vendor()
    name = unique_slug("img")
    missing = example_image.rsplit("@", 1)[0] + "@sha256:" + uuid.uuid4().hex * 2
    _submit(api, vendor, missing, name)
    invalid = wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})
    assert invalid["status"] == "invalid"
    runs = next(c for c in invalid["validation"]["checks"] if c["name"] == "image.runs")
    assert not runs["ok"]
    assert "ErrImagePull" in runs["detail"] or "ImagePullBackOff" in runs["detail"], runs
    assert "was not Ready after" not in runs["detail"]  # the pod's reason ended it
    wait_for(lambda: not _sandboxes(), timeout=30, what="the sandbox namespace to go")
