"""The real node runs real pods: images pulled by digest from the stack's registry, pod
networking on the bridge, Services through kube-proxy, names through CoreDNS, policies
enforced on real packets, and ``down`` leaves nothing behind."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from kubernetes import client
from kubernetes.stream import stream

from taas.kit.oci import RegistryClient
from taas.localstack import host, network
from taas.localstack.components import Containerd, Kubelet, Registry
from taas.localstack.components.node import REAL_NODE_TAINT, node_name
from taas.localstack.images import push_toolbox
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

# The exec streams' websocket (websocket-client, through the kubernetes client) leaves its
# TLS socket to the garbage collector after close(); nothing of ours leaks.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <ssl.SSLSocket:pytest.PytestUnraisableExceptionWarning"
)
WAIT_S = 90
TMP = "/tmp"  # noqa: S108 - the pod's own emptyDir (its root filesystem is read-only)
NODE_COMPONENTS = ["containerd", "kubelet", "kube-proxy", "coredns", "kube-router"]


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[client.ApiClient]:
    with api_client(stack.ctx) as api:
        yield api


@pytest.fixture(scope="module")
def toolbox(stack: LocalStack) -> str:
    registry = Registry(stack.ctx)
    with RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as pushed_to:
        return push_toolbox(stack.ctx.paths, pushed_to)


def _namespace(core: client.CoreV1Api, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    labels = {
        "taas.io/test": "1",
        "pod-security.kubernetes.io/enforce": "restricted",
    }
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    )
    return name


@pytest.fixture(scope="module")
def namespaces(api: client.ApiClient) -> Iterator[tuple[str, str]]:
    """Two namespaces under the ``restricted`` Pod Security standard: a server's, a client's."""
    core = client.CoreV1Api(api)
    made = (_namespace(core, "node-server"), _namespace(core, "node-client"))
    yield made
    for name in made:
        core.delete_namespace(name, grace_period_seconds=0)


def _pod(name: str, image: str, script: str, labels: dict[str, str]) -> client.V1Pod:
    restricted = client.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(
            node_name=node_name(),
            tolerations=[client.V1Toleration(**REAL_NODE_TAINT, operator="Equal")],
            termination_grace_period_seconds=1,
            containers=[
                client.V1Container(
                    name="main",
                    image=image,
                    command=["/bin/busybox", "sh", "-c", script],
                    security_context=restricted,
                    volume_mounts=[client.V1VolumeMount(name="tmp", mount_path=TMP)],
                    ports=[client.V1ContainerPort(container_port=8080)],
                )
            ],
            volumes=[client.V1Volume(name="tmp", empty_dir=client.V1EmptyDirVolumeSource())],
        ),
    )


def _running(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod:
    deadline = time.monotonic() + WAIT_S
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase == "Running" and pod.status.pod_ip:
            return pod
        if time.monotonic() > deadline:
            events = core.list_namespaced_event(
                namespace, field_selector=f"involvedObject.name={name}"
            )
            reasons = [f"{e.reason}: {e.message}" for e in events.items]
            pytest.fail(f"pod {namespace}/{name} is {pod.status.phase}; events: {reasons}")
        time.sleep(0.5)


SERVE = (
    "mkdir -p /tmp/www && echo served-by-$HOSTNAME > /tmp/www/index.html && "
    "echo listening && exec httpd -f -p 8080 -h /tmp/www"
)


@pytest.fixture(scope="module")
def server(api: client.ApiClient, namespaces: tuple[str, str], toolbox: str) -> client.V1Pod:
    core = client.CoreV1Api(api)
    namespace = namespaces[0]
    core.create_namespaced_pod(namespace, _pod("server", toolbox, SERVE, {"app": "server"}))
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
    return _running(core, namespace, "server")


@pytest.fixture(scope="module")
def client_pod(api: client.ApiClient, namespaces: tuple[str, str], toolbox: str) -> client.V1Pod:
    core = client.CoreV1Api(api)
    namespace = namespaces[1]
    core.create_namespaced_pod(
        namespace, _pod("client", toolbox, "exec sleep 3600", {"app": "client"})
    )
    return _running(core, namespace, "client")


def _exec(api: client.ApiClient, pod: client.V1Pod, script: str) -> str:
    """Run ``script`` in ``pod`` through the API server and the kubelet; its output."""
    session = stream(
        client.CoreV1Api(api).connect_get_namespaced_pod_exec,
        pod.metadata.name,
        pod.metadata.namespace,
        command=["/bin/busybox", "sh", "-c", f"{script} 2>&1; echo exit=$?"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        session.run_forever(timeout=30)
        return str(session.read_all())
    finally:
        session.close()


def _http_get(api: client.ApiClient, pod: client.V1Pod, ip: str, port: int) -> str:
    """A GET from inside ``pod`` with busybox ``nc`` (its ``wget`` cannot resolve in a
    scratch image: static glibc's resolver crashes without its shared parts)."""
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} {port}"
    return _exec(api, pod, request)


def _resolve(api: client.ApiClient, pod: client.V1Pod, name: str) -> str:
    """``name``'s address, asked of the cluster DNS from inside ``pod``."""
    answer = _exec(api, pod, f"nslookup {name} {network.GATEWAY}")
    after_name = answer.split(f"Name:\t{name}", 1)[-1]
    return after_name.split("Address: ", 1)[1].split()[0] if "Address: " in after_name else ""


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
    assert "served-by-server" in _http_get(api, client_pod, ip, 8080)


def test_services_route_through_kube_proxy_and_resolve_through_coredns(
    api: client.ApiClient, server: client.V1Pod, client_pod: client.V1Pod
) -> None:
    service = client.CoreV1Api(api).read_namespaced_service("server", server.metadata.namespace)
    cluster_ip = str(service.spec.cluster_ip)
    name = f"server.{server.metadata.namespace}.svc.cluster.local"
    assert _resolve(api, client_pod, name) == cluster_ip
    assert "served-by-server" in _http_get(api, client_pod, cluster_ip, 80)
    # The node itself (the gateway is a process on it) reaches the Service the same way.
    assert "served-by-server" in httpx.get(f"http://{cluster_ip}/", timeout=5).text


def test_names_outside_the_cluster_are_not_resolved(
    api: client.ApiClient, client_pod: client.V1Pod
) -> None:
    out = _exec(api, client_pod, "nslookup pypi.org")
    assert "exit=0" not in out


def test_a_network_policy_is_enforced_on_real_packets(
    api: client.ApiClient, server: client.V1Pod, client_pod: client.V1Pod
) -> None:
    networking = client.NetworkingV1Api(api)
    namespace = server.metadata.namespace
    ip = str(server.status.pod_ip)

    def answered() -> bool:
        return "served-by-server" in _http_get(api, client_pod, ip, 8080)

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
        refused = _eventually(lambda: not answered())
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
        allowed = _eventually(answered)
        assert allowed, "a policy allowing the client's namespace did not let it in"
    finally:
        for name in ("default-deny", "allow-client"):
            with contextlib.suppress(client.ApiException):
                networking.delete_namespaced_network_policy(name, namespace)


def _eventually(check: Callable[[], bool], tries: int = 10) -> bool:
    for _ in range(tries):
        if check():
            return True
        time.sleep(1)
    return False


def test_down_leaves_nothing_behind_and_up_brings_the_node_back(
    stack: LocalStack, server: client.V1Pod
) -> None:
    containerd = Containerd(stack.ctx)
    kubelet = Kubelet(stack.ctx)
    sandboxes = set(host.network_namespaces())
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
        assert sandboxes.isdisjoint(host.network_namespaces())
        assert not host.nft_table_exists(network.FENCE_TABLE)
        # kube-proxy's and kube-router's chains, and kube-router's ipsets
        assert not [chain for chain in host.iptables_chains() if chain.startswith("KUBE-")]
        assert not [name for name in host.ipsets() if name.startswith("KUBE-")]
    finally:
        stack.up(NODE_COMPONENTS)
    # The pod comes back on its own: the kubelet recreates its sandbox after the restart.
    with api_client(stack.ctx) as api:
        assert _running(client.CoreV1Api(api), server.metadata.namespace, "server").status.pod_ip
