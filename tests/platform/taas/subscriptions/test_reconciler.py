"""The workloads' reconciler on the real cluster: a subscription's Deployment, Service and
egress policy deleted by hand come back; a workload no subscription owns goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog_support import VendorAccount, subscribe, wait_version
from node_support import example_image_manifest, push_app_image
from support import spec_of_json, unique_slug
from taas.integrations.spec import ModuleSpec
from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.localstack.stack import LocalStack
from taas.subscriptions.reconciler import reconcile_workloads


@pytest.fixture(scope="module")
def example_image(stack: LocalStack) -> str:
    return push_app_image(stack, "example-plugin")


def _publish(api: Any, operator: dict[str, str], vendor: VendorAccount, image: str) -> str:
    name = unique_slug("rec")
    body = example_image_manifest(image, name)
    submitted = api.post(f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers())
    assert submitted.status_code == 202, submitted.text
    done = wait_version(api, operator, name, body["version"], {"validated", "invalid"}, 180)
    assert done["status"] == "validated", done["validation"]
    approved = api.post(f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=operator)
    assert approved.status_code == 200, approved.text
    return name


def test_deleted_workload_objects_come_back_and_orphans_go(
    api: Any,
    operator: dict[str, str],
    make_tenant: Callable[..., dict[str, Any]],
    make_vendor: Callable[[], VendorAccount],
    example_image: str,
) -> None:
    name = _publish(api, operator, make_vendor(), example_image)
    bank = make_tenant(tier="silo")["tenant"]
    subscribe(api, operator, bank, name)
    kube, namespace = systems().kubernetes, f"tenant-{bank['slug']}"
    workload = f"mod-{name}"
    deleted = [
        ("apps/v1", "Deployment", workload),
        ("v1", "Service", workload),
        ("networking.k8s.io/v1", "NetworkPolicy", f"{workload}-egress"),
    ]
    for api_version, kind, object_name in deleted:
        assert kube.delete(api_version, kind, object_name, namespace)

    # An orphan: a module workload in the bank's namespace that no subscription owns.
    orphan = ModuleSpec(name=unique_slug("orph"), version="1.0.0", image=example_image,
                        port=8080, upstream_url=None)  # fmt: skip
    systems().modules.ensure(spec_of_json(bank), orphan, "secret")
    # What is left of another: its Deployment went, its egress policy and Secret stayed.
    remnant = ModuleSpec(name=unique_slug("rest"), version="1.0.0", image=example_image,
                         port=8080, upstream_url=None)  # fmt: skip
    systems().modules.ensure(spec_of_json(bank), remnant, "secret")
    assert kube.delete("apps/v1", "Deployment", remnant.workload, namespace)

    with new_session() as session:
        report = reconcile_workloads(session, systems(), grace_s=0, namespaces={namespace})
    for api_version, kind, object_name in deleted:
        assert kube.read(api_version, kind, object_name, namespace) is not None, kind
    assert any(f"Deployment {namespace}/{workload}" in change for change in report["repaired"])
    assert f"deleted Deployment {namespace}/{orphan.workload}" in report["removed"]
    assert kube.read("apps/v1", "Deployment", orphan.workload, namespace) is None
    egress = ("networking.k8s.io/v1", "NetworkPolicy", f"{remnant.workload}-egress", namespace)
    assert f"deleted NetworkPolicy {namespace}/{remnant.workload}-egress" in report["removed"]
    assert kube.read(*egress) is None
    assert kube.read("v1", "Secret", f"{remnant.workload}-signing", namespace) is None

    with new_session() as session:  # a second pass finds nothing to do
        again = reconcile_workloads(session, systems(), grace_s=0, namespaces={namespace})
    assert again == {"repaired": [], "removed": []}
