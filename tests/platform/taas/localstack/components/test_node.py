"""The real node runs real pods: images pulled by digest from the stack's registry, pod
networking on the bridge, Services through kube-proxy, names through CoreDNS, policies
enforced on real packets, and ``down`` leaves nothing behind."""

from __future__ import annotations

import contextlib
import errno
import gc
import ipaddress
import socket
from collections.abc import Iterator

import httpx
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
from taas.localstack import host, network
from taas.localstack.components import Containerd, Kubelet
from taas.localstack.components.node import REAL_NODE_TAINT, node_name
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

pytestmark = EXEC_SOCKET_WARNING


@pytest.fixture(scope="module", autouse=True)
def _collect_sockets() -> Iterator[None]:
    """Free the module's clients' sockets before it ends, where its warning filter holds
    (torn down last: autouse fixtures are set up first)."""
    yield
    gc.collect()


NODE_COMPONENTS = ["containerd", "kubelet", "kube-proxy", "coredns", "kube-router"]


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[client.ApiClient]:
    with api_client(stack.ctx) as api:
        yield api


@pytest.fixture(scope="module")
def toolbox(stack: LocalStack) -> str:
    return push_toolbox_image(stack)


@pytest.fixture(scope="module")
def namespaces(api: client.ApiClient) -> Iterator[tuple[str, str]]:
    """Two namespaces under the ``restricted`` Pod Security standard: a server's, a client's."""
    core = client.CoreV1Api(api)
    made = (make_namespace(core, "node-server"), make_namespace(core, "node-client"))
    yield made
    for name in made:
        core.delete_namespace(name, grace_period_seconds=0)


@pytest.fixture(scope="module")
def server(api: client.ApiClient, namespaces: tuple[str, str], toolbox: str) -> client.V1Pod:
    core = client.CoreV1Api(api)
    namespace = namespaces[0]
    core.create_namespaced_pod(namespace, toolbox_pod("server", toolbox, SERVE, {"app": "server"}))
    core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="server"),
            spec=client.V1ServiceSpec(
                selector={"app": "server"},
                ports=[client.V1ServicePort(port=80, target_port=8080)],
            ),
        ),
    )
    return running(core, namespace, "server")


@pytest.fixture(scope="module")
def client_pod(api: client.ApiClient, namespaces: tuple[str, str], toolbox: str) -> client.V1Pod:
    core = client.CoreV1Api(api)
    namespace = namespaces[1]
    core.create_namespaced_pod(
        namespace, toolbox_pod("client", toolbox, "exec sleep 3600", {"app": "client"})
    )
    return running(core, namespace, "client")


def test_the_node_is_ready_tainted_and_runs_the_pinned_kubelet(api: client.ApiClient) -> None:
    node = client.CoreV1Api(api).read_node(node_name())
    assert node.status.node_info.kubelet_version == "v1.36.3"
    assert node.status.node_info.container_runtime_version.startswith("containerd://1.6")
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    assert [(t.key, t.effect) for t in node.spec.taints] == [
        (REAL_NODE_TAINT["key"], REAL_NODE_TAINT["effect"])
    ]


def test_a_restricted_pod_runs_an_image_pulled_by_digest(
    api: client.ApiClient, server: client.V1Pod, toolbox: str
) -> None:
    assert "@sha256:" in toolbox
    status = server.status.container_statuses[0]
    repository = toolbox.split("@", 1)[0]
    assert server.spec.containers[0].image == toolbox
    # containerd names the image by the first digest it pulled with the same content
    assert status.image_id.startswith(f"{repository}@sha256:")
    assert server.spec.containers[0].security_context.run_as_non_root
    logs = client.CoreV1Api(api).read_namespaced_pod_log("server", server.metadata.namespace)
    assert "listening" in logs  # read from the kubelet, through the API server


def test_pods_reach_each_other_on_the_bridge(
    api: client.ApiClient, server: client.V1Pod, client_pod: client.V1Pod
) -> None:
    ip = str(server.status.pod_ip)
    assert ip.startswith("10.244.0.")
    assert "served-by-server" in http_get(api, client_pod, ip, 8080)


def test_services_route_through_kube_proxy_and_resolve_through_coredns(
    api: client.ApiClient, server: client.V1Pod, client_pod: client.V1Pod
) -> None:
    service = client.CoreV1Api(api).read_namespaced_service("server", server.metadata.namespace)
    cluster_ip = str(service.spec.cluster_ip)
    name = f"server.{server.metadata.namespace}.svc.cluster.local"
    assert resolve(api, client_pod, name) == cluster_ip
    assert "served-by-server" in http_get(api, client_pod, cluster_ip, 80)
    # The node itself (the gateway is a process on it) reaches the Service the same way.
    assert "served-by-server" in httpx.get(f"http://{cluster_ip}/", timeout=5).text


def test_a_service_address_without_a_service_is_refused_on_the_machine(
    stack: LocalStack,
) -> None:
    """Not sent along the default route off the machine: refused at once, here."""
    unused = str(ipaddress.ip_network(network.SERVICE_SUBNET)[-2])
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex((unused, 8080)) == errno.ECONNREFUSED


def test_names_outside_the_cluster_are_not_resolved(
    api: client.ApiClient, client_pod: client.V1Pod
) -> None:
    # The same lookup succeeds for a cluster name, so its failure below is the refusal.
    assert "exit=0" in run_in(api, client_pod, "nslookup kubernetes.default.svc.cluster.local")
    out = run_in(api, client_pod, "nslookup pypi.org")
    assert "exit=0" not in out


def test_a_network_policy_is_enforced_on_real_packets(
    api: client.ApiClient, server: client.V1Pod, client_pod: client.V1Pod
) -> None:
    networking = client.NetworkingV1Api(api)
    namespace = server.metadata.namespace
    ip = str(server.status.pod_ip)

    def answered() -> bool:
        return "served-by-server" in http_get(api, client_pod, ip, 8080)

    networking.create_namespaced_network_policy(
        namespace,
        client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name="default-deny"),
            spec=client.V1NetworkPolicySpec(
                pod_selector=client.V1LabelSelector(), policy_types=["Ingress"]
            ),
        ),
    )
    try:
        refused = eventually(lambda: not answered())
        assert refused, "a default-deny policy did not stop a new connection"
        from_client = client.V1NetworkPolicyPeer(
            namespace_selector=client.V1LabelSelector(
                match_labels={"kubernetes.io/metadata.name": str(client_pod.metadata.namespace)}
            )
        )
        networking.create_namespaced_network_policy(
            namespace,
            client.V1NetworkPolicy(
                metadata=client.V1ObjectMeta(name="allow-client"),
                spec=client.V1NetworkPolicySpec(
                    pod_selector=client.V1LabelSelector(match_labels={"app": "server"}),
                    policy_types=["Ingress"],
                    ingress=[client.V1NetworkPolicyIngressRule(var_from=[from_client])],
                ),
            ),
        )
        allowed = eventually(answered)
        assert allowed, "a policy allowing the client's namespace did not let it in"
    finally:
        for name in ("default-deny", "allow-client"):
            with contextlib.suppress(client.ApiException):
                networking.delete_namespaced_network_policy(name, namespace)


def test_down_leaves_nothing_behind_and_up_brings_the_node_back(
    stack: LocalStack, server: client.V1Pod
) -> None:
    containerd = Containerd(stack.ctx)
    kubelet = Kubelet(stack.ctx)
    sandboxes = set(host.network_namespaces(containerd.root))
    assert sandboxes, "the server pod's sandbox should have a network namespace"
    stack.down(NODE_COMPONENTS)
    try:
        assert not network.bridge_exists()
        assert network.veths_on_bridge() == []
        assert host.shim_pids(containerd.socket) == set()
        assert host.node_cgroup_pids() == set()
        assert host.node_cgroups() == []
        assert host.mounts_below(containerd.root) == []
        assert host.mounts_below(kubelet.root_dir) == []
        assert sandboxes.isdisjoint(host.network_namespaces(containerd.root))
        assert not host.nft_table_exists(network.FENCE_TABLE)
        # kube-proxy's and kube-router's chains, and kube-router's ipsets
        assert not [chain for chain in host.iptables_chains() if chain.startswith("KUBE-")]
        assert not [name for name in host.ipsets() if name.startswith("KUBE-")]
    finally:
        stack.up(NODE_COMPONENTS)
    # The pod comes back on its own: the kubelet recreates its sandbox after the restart.
    with api_client(stack.ctx) as api:
        assert running(client.CoreV1Api(api), server.metadata.namespace, "server").status.pod_ip
