"""metrics-server measures the real node and its pods, kube-apiserver serves what it
measured as ``metrics.k8s.io`` (the aggregation layer), a HorizontalPodAutoscaler acts on
it, pods cannot reach it, and ``down`` leaves nothing behind."""

from __future__ import annotations

import base64
import gc
import socket
import ssl
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from node_support import (
    EXEC_SOCKET_WARNING,
    make_namespace,
    push_toolbox_image,
    run_in,
    running,
    toolbox_pod,
)
from taas.localstack import host, network
from taas.localstack.components import MetricsServer
from taas.localstack.components.metrics_server import (
    API_GROUP,
    API_SERVICE,
    API_VERSION,
    FENCE_TABLE,
    NAMESPACE,
    SERVICE,
)
from taas.localstack.components.node import node_name
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

pytestmark = EXEC_SOCKET_WARNING

POLL_S = 2.0
METRICS_WAIT_S = 90  # a new pod is measured after two scrapes (every 15 s)
SCALE_WAIT_S = 150
BURN = "while :; do :; done"
START_HINT = "start it with `taas stack up metrics-server` (or `make stack`)"


@pytest.fixture(scope="module", autouse=True)
def _collect_sockets() -> Iterator[None]:
    """Free the module's exec sockets where its warning filter holds."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def metrics_server(stack: LocalStack) -> MetricsServer:
    component = stack.components["metrics-server"]
    assert isinstance(component, MetricsServer)
    health = component.probe()
    if not health.ok:
        pytest.fail(f"metrics-server is not healthy ({health.detail}); {START_HINT}", pytrace=False)
    return component


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[client.ApiClient]:
    with api_client(stack.ctx) as api:
        yield api


@pytest.fixture(scope="module")
def namespace(api: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(api)
    name = make_namespace(core, "metrics")
    yield name
    core.delete_namespace(name, grace_period_seconds=0)


@pytest.fixture(scope="module")
def toolbox(stack: LocalStack) -> str:
    return push_toolbox_image(stack)


@pytest.fixture(scope="module")
def idle_pod(api: client.ApiClient, namespace: str, toolbox: str) -> client.V1Pod:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(
        namespace, toolbox_pod("idle", toolbox, "exec sleep 3600", {"app": "idle"})
    )
    return running(core, namespace, "idle")


def _quantity(text: str) -> Decimal:
    parsed: Decimal = parse_quantity(text)  # type: ignore[no-untyped-call]
    return parsed


def _custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def _wait_for_pod_metrics(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + METRICS_WAIT_S
    last = ""
    while time.monotonic() < deadline:
        try:
            found = _custom(api).get_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, "pods", name
            )
            if isinstance(found, dict) and found.get("containers"):
                return found
        except ApiException as exc:
            last = f"HTTP {exc.status} {exc.reason}"
        time.sleep(POLL_S)
    pytest.fail(f"no metrics for pod {namespace}/{name} within {METRICS_WAIT_S}s ({last})")


def test_the_api_service_is_available_through_the_stacks_endpoint(
    api: client.ApiClient, metrics_server: MetricsServer
) -> None:
    stored = client.ApiregistrationV1Api(api).read_api_service(API_SERVICE)
    available = [c for c in stored.status.conditions if c.type == "Available"]
    assert available[0].status == "True", available[0].message
    ca = metrics_server.ctx.pki.ca.cert.read_bytes()
    assert base64.b64decode(stored.spec.ca_bundle) == ca
    assert not stored.spec.insecure_skip_tls_verify
    service = client.CoreV1Api(api).read_namespaced_service(SERVICE, NAMESPACE)
    assert service.spec.cluster_ip == "None"  # nothing routes to it
    assert service.spec.selector is None
    (endpoints,) = (
        client.DiscoveryV1Api(api)
        .list_namespaced_endpoint_slice(
            NAMESPACE, label_selector=f"kubernetes.io/service-name={SERVICE}"
        )
        .items
    )
    assert endpoints.endpoints[0].addresses == [network.GATEWAY]
    assert endpoints.ports[0].port == metrics_server.ctx.settings.metrics_server_port


def test_the_real_node_is_measured_and_kwoks_fake_nodes_are_not(
    api: client.ApiClient, metrics_server: MetricsServer
) -> None:
    listed = _custom(api).list_cluster_custom_object(API_GROUP, API_VERSION, "nodes")
    measured = {item["metadata"]["name"]: item["usage"] for item in listed["items"]}
    assert list(measured) == [node_name()], measured
    usage = measured[node_name()]
    assert _quantity(usage["cpu"]) > 0
    assert _quantity(usage["memory"]) > 0


def test_a_running_pod_on_the_real_node_is_measured(
    api: client.ApiClient, metrics_server: MetricsServer, idle_pod: client.V1Pod
) -> None:
    found = _wait_for_pod_metrics(api, idle_pod.metadata.namespace, "idle")
    (container,) = found["containers"]
    assert container["name"] == "main"
    assert _quantity(container["usage"]["memory"]) > 0
    assert _quantity(container["usage"]["cpu"]) >= 0  # asleep: may round to 0


def test_pods_are_refused_at_its_port(
    api: client.ApiClient, metrics_server: MetricsServer, idle_pod: client.V1Pod
) -> None:
    port = metrics_server.ctx.settings.metrics_server_port
    # The same pod reaches another port of the node (CoreDNS over TCP): the refusal below
    # is the rule's, not a pod that reaches nothing.
    assert "exit=0" in run_in(api, idle_pod, f"nc -w 2 {network.GATEWAY} 53 </dev/null")
    out = run_in(api, idle_pod, f"nc -w 2 {network.GATEWAY} {port} </dev/null")
    assert "exit=0" not in out
    assert "refused" in out, out
    assert host.nft_table_exists(FENCE_TABLE)


def test_a_lost_fence_makes_it_unhealthy_and_up_puts_the_fence_back(
    stack: LocalStack, metrics_server: MetricsServer
) -> None:
    assert network.remove_table(FENCE_TABLE)
    try:
        health = metrics_server.probe()
        assert not health.ok
        assert "pods are not refused" in health.detail
    finally:
        stack.up(["metrics-server"])
    assert host.nft_table_exists(FENCE_TABLE)
    assert metrics_server.probe().ok


def test_only_the_front_proxy_may_name_another_caller(metrics_server: MetricsServer) -> None:
    """A client certificate of the stack's CA that claims, in the front proxy's headers,
    to be an administrator stays itself: only the front proxy's CA and name are trusted."""
    pki = metrics_server.ctx.pki
    url = f"{metrics_server.url}/apis/{API_GROUP}/{API_VERSION}/nodes"
    claims = {"X-Remote-User": "taas-admin", "X-Remote-Group": "system:masters"}

    def get(cert: str, key: str, headers: dict[str, str]) -> int:
        tls = ssl.create_default_context(cafile=str(pki.ca.cert))
        tls.load_cert_chain(cert, key)
        with httpx.Client(verify=tls, timeout=5) as http:
            return http.get(url, headers=headers).status_code

    scheduler = pki.client("kube-scheduler")
    assert get(str(scheduler.cert), str(scheduler.key), claims) == 403
    admin = pki.client("admin")  # system:masters itself: allowed
    assert get(str(admin.cert), str(admin.key), {}) == 200
    with httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca.cert))) as anonymous:
        assert anonymous.get(url, headers=claims, timeout=5).status_code in (401, 403)


def test_an_hpa_on_cpu_scales_a_busy_deployment_to_two_replicas(
    api: client.ApiClient, metrics_server: MetricsServer, namespace: str, toolbox: str
) -> None:
    pod = toolbox_pod("burner", toolbox, BURN, {"app": "burner"})
    container = pod.spec.containers[0]
    container.ports = None
    container.resources = client.V1ResourceRequirements(
        requests={"cpu": "20m", "memory": "16Mi"}, limits={"cpu": "100m", "memory": "32Mi"}
    )
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="burner"),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels={"app": "burner"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "burner"}), spec=pod.spec
                ),
            ),
        ),
    )
    autoscaling = client.AutoscalingV2Api(api)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace,
        client.V2HorizontalPodAutoscaler(
            metadata=client.V1ObjectMeta(name="burner"),
            spec=client.V2HorizontalPodAutoscalerSpec(
                scale_target_ref=client.V2CrossVersionObjectReference(
                    api_version="apps/v1", kind="Deployment", name="burner"
                ),
                min_replicas=1,
                max_replicas=2,
                metrics=[
                    client.V2MetricSpec(
                        type="Resource",
                        resource=client.V2ResourceMetricSource(
                            name="cpu",
                            target=client.V2MetricTarget(
                                type="Utilization", average_utilization=50
                            ),
                        ),
                    )
                ],
            ),
        ),
    )
    deadline = time.monotonic() + SCALE_WAIT_S
    while True:
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("burner", namespace)
        scale = client.AppsV1Api(api).read_namespaced_deployment_scale("burner", namespace)
        if scale.spec.replicas == 2 and hpa.status.desired_replicas == 2:
            break
        if time.monotonic() > deadline:
            conditions = [
                f"{c.type}={c.status} {c.reason}: {c.message}" for c in hpa.status.conditions or []
            ]
            events = client.CoreV1Api(api).list_namespaced_event(
                namespace, field_selector="involvedObject.kind=HorizontalPodAutoscaler"
            )
            pytest.fail(
                f"the HPA did not scale burner to 2 within {SCALE_WAIT_S}s: replicas "
                f"{scale.spec.replicas}, current metrics {hpa.status.current_metrics}; "
                f"conditions {conditions}; events {[e.message for e in events.items]}"
            )
        time.sleep(POLL_S)
    (measured,) = hpa.status.current_metrics
    assert measured.resource.name == "cpu"
    assert (measured.resource.current.average_utilization or 0) > 50


def test_down_leaves_nothing_behind_and_up_brings_it_back(
    stack: LocalStack, api: client.ApiClient, metrics_server: MetricsServer
) -> None:
    port = metrics_server.ctx.settings.metrics_server_port
    stack.down(["metrics-server"])
    try:
        assert not metrics_server.is_running()
        with pytest.raises(ApiException) as gone:
            client.ApiregistrationV1Api(api).read_api_service(API_SERVICE)
        assert gone.value.status == 404
        with pytest.raises(ApiException) as gone:
            client.CoreV1Api(api).read_namespaced_service(SERVICE, NAMESPACE)
        assert gone.value.status == 404
        assert (
            not client.DiscoveryV1Api(api)
            .list_namespaced_endpoint_slice(
                NAMESPACE, label_selector=f"kubernetes.io/service-name={SERVICE}"
            )
            .items
        )
        assert not host.nft_table_exists(FENCE_TABLE)
        with socket.socket() as probe:
            probe.settimeout(5)
            assert probe.connect_ex((network.GATEWAY, port)) != 0
        # Clients' discovery no longer lists the group (nothing unanswered is registered).
        groups = client.ApisApi(api).get_api_versions().groups
        assert API_GROUP not in [group.name for group in groups]
    finally:
        stack.up(["metrics-server"])
    assert metrics_server.probe().ok
