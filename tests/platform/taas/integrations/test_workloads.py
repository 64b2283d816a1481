"""Shared module workloads on the real kube-apiserver: offboarding a pool tenant closes its
paths and removes the shared workloads nobody else has a path to (found as an orphan by
the crash-safety scan before), also when the step runs again after a crash."""

from __future__ import annotations

import uuid

from support import unique_slug
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.integrations.systems import systems
from taas.localstack.stack import LocalStack


def _pool_tenant() -> TenantSpec:
    return TenantSpec(id=uuid.uuid4(), slug=unique_slug(), tier="pool", region="cn-east-1")


def _shared(module: ModuleSpec) -> list[str]:
    kube = systems().kubernetes
    selector = f"taas.io/module={module.name}"
    return kube.list_names("apps/v1", "Deployment", kube.modules_namespace, selector)


def test_offboarding_the_last_pool_tenant_of_a_version_removes_its_workload(
    stack: LocalStack,
) -> None:
    modules = systems().modules
    module = ModuleSpec(name=unique_slug("w"), version="1.0.0", image=None, port=8080,
                        upstream_url=None)  # fmt: skip
    first, second = _pool_tenant(), _pool_tenant()
    modules.ensure(first, module)
    modules.ensure(second, module)

    closed = modules.remove_tenant_paths(first)
    assert closed == [
        f"deleted NetworkPolicy {modules.shared_namespace}/{module.name}-{first.slug}"
    ]
    assert _shared(module) == [module.shared_workload]  # the second tenant still uses it

    closed = modules.remove_tenant_paths(second)
    assert _shared(module) == []
    assert any("Deployment" in change for change in closed)
    assert modules.remove_tenant_paths(second) == []  # run again: nothing left to do


def test_a_step_run_again_after_a_crash_still_finds_the_workload(stack: LocalStack) -> None:
    modules = systems().modules
    kube = systems().kubernetes
    module = ModuleSpec(name=unique_slug("w"), version="2.0.0", image=None, port=8080,
                        upstream_url=None)  # fmt: skip
    tenant = _pool_tenant()
    modules.ensure(tenant, module)
    # a worker died after removing the workload, before closing the path: run again
    kube.delete("apps/v1", "Deployment", module.shared_workload, modules.shared_namespace)
    closed = modules.remove_tenant_paths(tenant)
    assert closed == [
        f"deleted Service {modules.shared_namespace}/{module.shared_workload}",
        f"deleted NetworkPolicy {modules.shared_namespace}/{module.name}-{tenant.slug}",
    ]
    assert _shared(module) == []
