"""Shared module workloads on the real kube-apiserver: offboarding a pool tenant closes its
paths and removes the shared workloads nobody else has a path to (found as an orphan by
the crash-safety scan before), also when the step runs again after a crash."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from node_support import push_app_image
from support import unique_slug
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.integrations.systems import systems
from taas.integrations.workloads import (
    ModuleWorkloads,
    Placement,
    cpu_limit,
    pod_problem,
    rolled_out,
)
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


# ------------------------------------------------------------------ pure logic (no server)


def _pod(state: dict[str, Any], restarts: int = 0, last: dict[str, Any] | None = None) -> Any:
    status = {"state": state, "restartCount": restarts, "lastState": last or {}}
    return {"status": {"containerStatuses": [status]}}


def test_a_pod_that_cannot_pull_or_has_exited_is_a_problem_with_its_reason() -> None:
    pulling = _pod({"waiting": {"reason": "ImagePullBackOff", "message": "not found"}})
    assert pod_problem([pulling]) == "ImagePullBackOff: not found"
    ended = {"terminated": {"exitCode": 1, "reason": "Error", "message": "Traceback ..."}}
    assert pod_problem([_pod(ended)]) == "exited with code 1 (Error): Traceback ..."
    restarted = _pod({"running": {}}, restarts=2, last=ended)
    assert pod_problem([restarted]) == "exited with code 1 (Error): Traceback ..."


def test_a_starting_pod_is_not_a_problem() -> None:
    assert pod_problem([_pod({"waiting": {"reason": "ContainerCreating"}})]) is None
    assert pod_problem([_pod({"running": {}})]) is None
    assert pod_problem([{"status": {}}]) is None


def test_a_rollout_is_done_when_every_replica_runs_the_new_template_and_is_available() -> None:
    def deployment(**status: int) -> dict[str, Any]:
        return {"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": status}

    done = {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}
    assert rolled_out(deployment(**done))
    assert not rolled_out(deployment(**(done | {"observedGeneration": 1})))  # not seen yet
    assert not rolled_out(deployment(**(done | {"replicas": 3})))  # an old pod is left
    assert not rolled_out(deployment(**(done | {"availableReplicas": 1})))
    assert not rolled_out({"metadata": {"generation": 1}, "spec": {}, "status": None})


def test_the_manifest_cpu_is_the_request_and_the_limit_defaults_to_four_times_it() -> None:
    def module(cpu: str, limit: str | None = None) -> ModuleSpec:
        return ModuleSpec(name="m", version="1", image="r/m@sha256:" + "0" * 64, port=8080,
                          upstream_url=None, cpu=cpu, cpu_limit=limit)  # fmt: skip

    assert cpu_limit(module("250m")) == "1"  # as the API server writes it back
    assert cpu_limit(module("0.1")) == "400m"
    assert cpu_limit(module("100m", "0.25")) == "250m"
    modules = ModuleWorkloads(systems().kubernetes)
    container = modules.deployment(module("150m"), "m-v1")["spec"]["template"]["spec"]
    resources = container["containers"][0]["resources"]
    assert resources["requests"]["cpu"] == "150m"
    assert resources["limits"]["cpu"] == "600m"


def test_module_pods_pass_the_restricted_standard_and_get_only_the_placement_egress() -> None:
    placement = Placement(platform_url="http://10.0.0.1:1", egress=[{"to": []}])
    modules = ModuleWorkloads(systems().kubernetes, placement)
    module = ModuleSpec(name="m", version="1.0.0", image="r/m@sha256:" + "0" * 64, port=8080,
                        upstream_url=None)  # fmt: skip
    pod = modules.deployment(module, "m-v1")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert {"name": "TAAS_PLATFORM_URL", "value": "http://10.0.0.1:1"} in container["env"]
    policy = modules.egress_policy(module, "m-v1")
    assert policy["spec"]["egress"] == [{"to": []}]
    assert "taas.io/module-workload" not in policy["metadata"]["labels"]  # not a path


def test_a_version_deployed_again_right_after_its_removal_waits_for_its_new_pods(
    stack: LocalStack,
) -> None:
    """The last subscriber leaves and a new one comes at once: the old pods, still going
    away (exit code 0 on SIGTERM), are not taken for the new Deployment's."""
    modules = systems().modules
    module = ModuleSpec(name=unique_slug("again"), version="1.0.0",
                        image=push_app_image(stack, "example-plugin"), port=8080,
                        upstream_url=None)  # fmt: skip
    tenant = _pool_tenant()
    modules.ensure(tenant, module, "secret")
    assert modules.wait_ready(tenant, module)
    modules.remove(tenant, module)
    modules.ensure(tenant, module, "secret")
    assert modules.wait_ready(tenant, module) == [
        f"{modules.shared_namespace}/{module.shared_workload}: 1 pod(s) Ready"
    ]
    modules.remove(tenant, module)


def test_an_autoscaled_module_gets_a_cpu_autoscaler_whose_scale_up_a_new_apply_keeps(
    stack: LocalStack,
) -> None:
    """``max_replicas`` above ``replicas`` adds a HorizontalPodAutoscaler on the pods' CPU;
    re-applying the workload (the reconciler does, every pass) keeps the replicas it set;
    a version without autoscaling removes it, and so does removing the workload."""
    modules, kube = systems().modules, systems().kubernetes
    image = push_app_image(stack, "example-plugin")
    scaled = ModuleSpec(name=unique_slug("hpa"), version="1.0.0", image=image, port=8080,
                        upstream_url=None, replicas=1, max_replicas=3,
                        cpu_target_percent=60)  # fmt: skip
    tenant = _pool_tenant()
    namespace, name = modules.location(tenant, scaled)
    hpa = ("autoscaling/v2", "HorizontalPodAutoscaler", name, namespace)
    try:
        modules.ensure(tenant, scaled, "secret")
        spec = (kube.read(*hpa) or {})["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 3)
        assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
        assert spec["scaleTargetRef"]["name"] == name
        kube.client.resources.get(api_version="apps/v1", kind="Deployment").patch(
            name=name, namespace=namespace, body={"spec": {"replicas": 3}},
            content_type="application/merge-patch+json",
        )  # fmt: skip  # as the autoscaler would
        modules.ensure(tenant, scaled, "secret")
        assert (kube.read("apps/v1", "Deployment", name, namespace) or {})["spec"]["replicas"] == 3
        fixed = dataclasses.replace(scaled, max_replicas=None)
        modules.ensure(tenant, fixed, "secret")
        assert kube.read(*hpa) is None
        assert (kube.read("apps/v1", "Deployment", name, namespace) or {})["spec"]["replicas"] == 1
        modules.ensure(tenant, scaled, "secret")
        assert kube.read(*hpa) is not None
    finally:
        modules.remove(tenant, scaled)
    assert kube.read(*hpa) is None
