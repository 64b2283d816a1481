"""Tenant namespaces as the platform makes them keep banks apart on real packets, on the
stack's real node: a bank's pod cannot open a connection to another bank's pod (in either
direction), the gateway's namespace can reach a bank's pods, a bank's pods reach none of
the node's own servers, and a shared module admits only the gateway and reaches only the
platform's storage path."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client

from node_support import (
    EXEC_SOCKET_WARNING,
    SERVE,
    eventually,
    http_get,
    make_namespace,
    push_toolbox_image,
    resolve,
    run_in,
    running,
    toolbox_pod,
)
from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.integrations.systems import systems
from taas.integrations.workloads import ModuleWorkloads
from taas.kit.settings import app_settings
from taas.localstack import network
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

pytestmark = EXEC_SOCKET_WARNING


@pytest.fixture(scope="module", autouse=True)
def _collect_sockets() -> Iterator[None]:
    """Free the module's clients' sockets before it ends, where its warning filter holds
    (torn down last: autouse fixtures are set up first)."""
    yield
    gc.collect()


@dataclass
class Bank:
    spec: TenantSpec
    server: client.V1Pod
    neighbour: client.V1Pod  # a second pod of the same bank


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[client.ApiClient]:
    with api_client(stack.ctx) as api:
        yield api


@pytest.fixture(scope="module")
def gateway_namespace(api: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(api)
    name = make_namespace(core, "iso-gateway")
    yield name
    core.delete_namespace(name, grace_period_seconds=0)


@pytest.fixture(scope="module")
def banks(
    stack: LocalStack, api: client.ApiClient, gateway_namespace: str
) -> Iterator[tuple[Bank, Bank]]:
    """Two banks' namespaces made by the platform's Kubernetes adapter, each with a server
    pod and a second pod."""
    kube = KubernetesTenants(
        stack.ctx.paths.kubeconfig, gateway_namespace, dns_peers=app_settings().cluster_dns_peers
    )
    image = push_toolbox_image(stack)
    core = client.CoreV1Api(api)
    specs = [
        TenantSpec(id=uuid.uuid4(), slug=f"iso{uuid.uuid4().hex[:8]}", tier="pool", region="t")
        for _ in range(2)
    ]
    made = []
    try:
        for spec in specs:
            kube.ensure(spec)
            for name, script in (("server", SERVE), ("neighbour", "exec sleep 3600")):
                core.create_namespaced_pod(
                    spec.namespace, toolbox_pod(name, image, script, {"app": name})
                )
            made.append(
                Bank(
                    spec,
                    running(core, spec.namespace, "server"),
                    running(core, spec.namespace, "neighbour"),
                )
            )
        yield made[0], made[1]
    finally:
        for spec in specs:
            kube.remove(spec)


@pytest.fixture(scope="module")
def gateway_pod(stack: LocalStack, api: client.ApiClient, gateway_namespace: str) -> client.V1Pod:
    core = client.CoreV1Api(api)
    pod = toolbox_pod("gateway", push_toolbox_image(stack), "exec sleep 3600", {"app": "gw"})
    core.create_namespaced_pod(gateway_namespace, pod)
    return running(core, gateway_namespace, "gateway")


def _answers(api: client.ApiClient, source: client.V1Pod, target: client.V1Pod) -> bool:
    return "served-by-server" in http_get(api, source, str(target.status.pod_ip), 8080)


def test_a_bank_cannot_open_a_connection_to_another_bank(
    api: client.ApiClient, banks: tuple[Bank, Bank], gateway_pod: client.V1Pod
) -> None:
    first, second = banks
    # The policies are in force once the gateway gets through (the enforcer synced them).
    assert eventually(lambda: _answers(api, gateway_pod, first.server))
    assert eventually(lambda: _answers(api, gateway_pod, second.server))
    assert not _answers(api, first.neighbour, second.server)
    assert not _answers(api, second.neighbour, first.server)


def test_a_bank_reaches_none_of_the_nodes_own_servers(
    stack: LocalStack, api: client.ApiClient, banks: tuple[Bank, Bank], gateway_pod: client.V1Pod
) -> None:
    bank = banks[0]
    # The probe itself works: the gateway's pod opens the bank's server port with it.
    probe = f"nc -w 2 {bank.server.status.pod_ip} 8080 </dev/null"
    assert eventually(lambda: "exit=0" in run_in(api, gateway_pod, probe))
    settings = stack.ctx.settings
    # The kubelet answers on the node's address a pod sees (from a namespace with no policy),
    # so the bank's refusal below is its policy's doing.
    kubelet = f"nc -w 2 {network.GATEWAY} {settings.kubelet_port} </dev/null"
    assert "exit=0" in run_in(api, gateway_pod, kubelet)
    for port in (settings.kubelet_port, settings.apiserver_port, settings.postgres_port):
        out = run_in(api, bank.neighbour, f"nc -w 2 {network.GATEWAY} {port} </dev/null")
        assert "exit=0" not in out, f"a bank's pod opened {network.GATEWAY}:{port}"


def test_a_banks_pod_resolves_cluster_names(
    api: client.ApiClient, banks: tuple[Bank, Bank]
) -> None:
    """DNS is the one thing outside its namespace a bank's pod may send to (the local
    stack's cluster DNS answers on the node's address, not from kube-system's pods)."""
    bank = banks[0]
    name = "kubernetes.default.svc.cluster.local"
    assert eventually(lambda: bool(resolve(api, bank.neighbour, name)))


@pytest.fixture(scope="module")
def shared_module(
    stack: LocalStack, api: client.ApiClient, banks: tuple[Bank, Bank], gateway_namespace: str
) -> Iterator[client.V1Pod]:
    """A pool module as the platform deploys it (shared Deployment, the first bank's path,
    the module egress policy), serving with the toolbox image; its pod."""
    kube = KubernetesTenants(stack.ctx.paths.kubeconfig, gateway_namespace)
    modules = ModuleWorkloads(kube, systems().placement)
    module = ModuleSpec(name=f"iso{uuid.uuid4().hex[:6]}", version="1.0.0",
                        image=push_toolbox_image(stack), port=8080, upstream_url=None,
                        health_path="/")  # fmt: skip
    modules.ensure(banks[0].spec, module, "secret")
    # ... then serving: the first template's pod (busybox without a command) never serves
    body = modules.deployment(module, module.shared_workload)
    serve = ["/bin/busybox", "sh", "-c", SERVE]
    body["spec"]["template"]["spec"]["containers"][0]["command"] = serve
    kube.apply(body, modules.shared_namespace)
    modules.wait_rollout(modules.shared_namespace, module.shared_workload, module)
    pods = client.CoreV1Api(api).list_namespaced_pod(
        modules.shared_namespace, label_selector=f"taas.io/module-workload={module.shared_workload}"
    )
    yield next(  # the serving template's pod: Ready, and not going away
        pod
        for pod in pods.items
        if pod.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    )
    modules.remove_tenant_paths(banks[0].spec)


def test_a_shared_module_admits_the_gateway_only_and_reaches_only_the_platform(
    stack: LocalStack,
    api: client.ApiClient,
    banks: tuple[Bank, Bank],
    gateway_pod: client.V1Pod,
    shared_module: client.V1Pod,
) -> None:
    subscriber, other = banks

    def served(source: client.V1Pod) -> bool:
        ip = str(shared_module.status.pod_ip)
        return f"served-by-{shared_module.metadata.name}" in http_get(api, source, ip, 8080)

    assert eventually(lambda: served(gateway_pod))
    # Banks' pods, subscribed or not, go through the gateway (token and scopes checked).
    assert not served(subscriber.neighbour)
    assert not served(other.neighbour)
    # The module's own egress: the platform's storage path, nothing else.
    settings = stack.ctx.settings
    storage = f"nc -w 2 {network.GATEWAY} {settings.minio_port} </dev/null"
    assert eventually(lambda: "exit=0" in run_in(api, shared_module, storage))
    kubelet = f"nc -w 2 {network.GATEWAY} {settings.kubelet_port} </dev/null"
    assert "exit=0" not in run_in(api, shared_module, kubelet)
    assert not _answers(api, shared_module, other.server)  # nor a bank's pods
