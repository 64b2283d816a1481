"""The Kubernetes control plane is real: objects are validated and stored by kube-apiserver,
Deployments get Pods from the controller-manager and scheduler, and kwok runs them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from taas.kit.settings import StackSettings
from taas.localstack.components import KubeControllerManager, KubeScheduler, Kwok
from taas.localstack.context import StackContext
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

POLL_S = 0.5
WAIT_S = 60


@pytest.fixture
def api(stack: LocalStack) -> Iterator[client.ApiClient]:
    with api_client(stack.ctx) as api:
        yield api


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(api)
    name = f"smoke-{uuid.uuid4().hex[:10]}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"taas.io/test": "1"}))
    )
    yield name
    core.delete_namespace(name)


def test_server_version_is_the_pinned_one(api: client.ApiClient) -> None:
    info = client.VersionApi(api).get_code()
    assert info.git_version == "v1.36.3"


def test_namespace_quota_and_network_policy(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    quota = client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="tenant-quota"),
        spec=client.V1ResourceQuotaSpec(
            hard={"requests.cpu": "2", "requests.memory": "4Gi", "pods": "20"}
        ),
    )
    core.create_namespaced_resource_quota(namespace, quota)
    deny_all = client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name="default-deny"),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(), policy_types=["Ingress", "Egress"]
        ),
    )
    client.NetworkingV1Api(api).create_namespaced_network_policy(namespace, deny_all)

    stored_quota = core.read_namespaced_resource_quota("tenant-quota", namespace)
    assert stored_quota.spec is not None
    assert stored_quota.spec.hard == {"pods": "20", "requests.cpu": "2", "requests.memory": "4Gi"}
    stored_policy = client.NetworkingV1Api(api).read_namespaced_network_policy(
        "default-deny", namespace
    )
    assert stored_policy.spec is not None
    assert stored_policy.spec.policy_types == ["Ingress", "Egress"]

    client.NetworkingV1Api(api).delete_namespaced_network_policy("default-deny", namespace)
    core.delete_namespaced_resource_quota("tenant-quota", namespace)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_resource_quota("tenant-quota", namespace)
    assert gone.value.status == 404


def test_the_api_server_validates_objects(api: client.ApiClient, namespace: str) -> None:
    bad_quota = client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="Not_A_Valid_Name"),
        spec=client.V1ResourceQuotaSpec(hard={"pods": "1"}),
    )
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(api).create_namespaced_resource_quota(namespace, bad_quota)
    assert refused.value.status == 422


def test_deployment_pods_reach_running_on_a_kwok_node(
    api: client.ApiClient, namespace: str
) -> None:
    labels = {"app": "smoke"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="registry.invalid/app:1")]
                ),
            ),
        ),
    )
    client.AppsV1Api(api).create_namespaced_deployment(namespace, deployment)
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + WAIT_S
    pods: list[client.V1Pod] = []
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(namespace, label_selector="app=smoke").items
        running = [p for p in pods if p.status is not None and p.status.phase == "Running"]
        if len(running) == 2:
            break
        time.sleep(POLL_S)
    phases = [
        (p.metadata.name if p.metadata else "?", p.status.phase if p.status else None) for p in pods
    ]
    assert len(pods) == 2, f"expected 2 pods, saw {phases}"
    assert all(phase == "Running" for _, phase in phases), phases
    nodes = {p.spec.node_name for p in pods if p.spec is not None}
    assert nodes <= {"taas-kwok-node-0", "taas-kwok-node-1"}
    assert None not in nodes


def test_scheduler_and_controller_manager_talk_to_the_api_server_by_certificate(
    tmp_path: Path,
) -> None:
    ctx = StackContext(StackSettings(cache_dir=tmp_path / "cache", state_dir=tmp_path / "state"))
    ctx.paths.pki.mkdir(parents=True)
    ctx.pki.ensure(ctx.host)
    for server, port in (
        (KubeScheduler(ctx), ctx.settings.scheduler_port),
        (KubeControllerManager(ctx), ctx.settings.controller_manager_port),
    ):
        kubeconfig = ctx.paths.pki / f"kubeconfig-{server.name}"
        serving = ctx.pki.serving(server.name, ctx.host)
        assert server.argv()[:8] == [
            str(server.binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={ctx.host}",
            f"--secure-port={port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
        ]
        assert "--leader-elect=false" in server.argv()
        assert json.loads(kubeconfig.read_text())["users"][0]["user"]["client-certificate"] == (
            str(ctx.pki.client(server.name).cert)
        )
    assert f"--kubeconfig={ctx.paths.pki / 'kubeconfig-kwok'}" in Kwok(ctx).argv()
