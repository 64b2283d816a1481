"""Resource metrics for the real node: metrics-server, so HorizontalPodAutoscalers act on
CPU and memory use.

It scrapes the kubelet's resource metrics on the node's address over TLS checked against
the stack's CA, as a user of its own (a client certificate of that CA) whom the kubelet's
webhook authorizes for ``nodes/metrics``. kwok's fake nodes have no kubelet: only nodes
without kwok's ``type=kwok`` label are scraped.

kube-apiserver serves what it measured as ``metrics.k8s.io``: the APIService
``v1beta1.metrics.k8s.io`` names a selector-less, headless Service in ``kube-system``
whose EndpointSlice the stack writes itself, pointing at metrics-server's address, and
kube-apiserver dials that endpoint directly (``--enable-aggregator-routing``). The address
is the pod bridge's (an endpoint may not be a loopback address); pods are refused on its
port by an nftables table of this component's own. Requests arrive from kube-apiserver
authenticated by the front proxy's certificate, the caller named in headers; metrics-server
asks kube-apiserver whether that caller may read them (SubjectAccessReview).

``down`` stops it and removes the APIService (a registered but unanswered API group
stalls namespace deletion and every client's discovery), its Service, EndpointSlice and
nftables table.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from taas.localstack import host, install, network, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.components.kubernetes import write_kubeconfig
from taas.localstack.kube import api_client, ensure_cluster_role
from taas.localstack.pki import FRONT_PROXY_CLIENT
from taas.localstack.process import ensure_port_free

USER = "taas:metrics-server"
RULES = [
    ([""], ["nodes/metrics"], ["get"]),  # the kubelet's /metrics/resource
    ([""], ["nodes", "pods"], ["get", "list", "watch"]),
    # Delegated authentication (bearer tokens) and authorization of its own callers.
    (["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    (["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
]
NAMESPACE = "kube-system"
SERVICE = "metrics-server"
SERVICE_PORT = 443
PORT_NAME = "https"
API_GROUP = "metrics.k8s.io"
API_VERSION = "v1beta1"
API_SERVICE = f"{API_VERSION}.{API_GROUP}"
FENCE_TABLE = "taas-metrics-server"
# What kube-apiserver checks its certificate against when it proxies to the Service.
SERVICE_DNS = f"{SERVICE}.{NAMESPACE}.svc"
LABELS = {"app.kubernetes.io/part-of": "taas-stack", "app.kubernetes.io/name": SERVICE}
# Every 15 s, as the HorizontalPodAutoscaler controller syncs; a scrape must end well within.
RESOLUTION = "15s"
SCRAPE_TIMEOUT = "5s"
REAL_NODES = "type!=kwok"


class MetricsServer(BuiltComponent):
    name = "metrics-server"
    title = "metrics-server"
    binary_name = "metrics-server"
    requires = ("kube-apiserver", "kubelet")
    fix_hint = "read its log; `taas stack status kubelet` says whether the node it scrapes is Ready"

    @property
    def version(self) -> str:
        return versions.METRICS_SERVER

    def ports(self) -> list[Port]:
        return [
            Port(
                self.ctx.settings.metrics_server_port,
                f"API (HTTPS on {network.GATEWAY})",
                "TAAS_METRICS_SERVER_PORT",
            )
        ]

    def check_ports_free(self) -> None:
        for port in self.ports():  # on the bridge's address, not loopback
            ensure_port_free(
                network.GATEWAY, port.number, f"{self.title} {port.what}", port.setting
            )

    def install(self) -> None:
        install.go_install(
            self.ctx.log,
            self.ctx.paths,
            self.name,
            "sigs.k8s.io/metrics-server/cmd/metrics-server",
            self.version,
        )

    @property
    def url(self) -> str:
        return f"https://{network.GATEWAY}:{self.ctx.settings.metrics_server_port}"

    def prepare(self) -> None:
        pki = self.ctx.pki
        pki.client(self.name, USER)
        pki.serving(self.name, network.GATEWAY, [SERVICE_DNS])
        ensure_cluster_role(self.ctx, USER, RULES)
        self._fence()

    def argv(self) -> list[str]:
        pki = self.ctx.pki
        kubeconfig = write_kubeconfig(self.ctx, self.name)
        serving = pki.serving(self.name, network.GATEWAY, [SERVICE_DNS])
        client_cert = pki.client(self.name, USER)
        return [
            str(self.binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={network.GATEWAY}",
            f"--secure-port={self.ctx.settings.metrics_server_port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            # Who may call it: clients of the stack's CA, and kube-apiserver forwarding a
            # caller's request (the front proxy's CA and name only). Given as files, so it
            # needs no read access to kube-system's ConfigMaps.
            f"--client-ca-file={pki.ca.cert}",
            f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
            f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            # The kubelet: its serving certificate checked against the stack's CA.
            f"--kubelet-certificate-authority={pki.ca.cert}",
            f"--kubelet-client-certificate={client_cert.cert}",
            f"--kubelet-client-key={client_cert.key}",
            "--kubelet-preferred-address-types=InternalIP",
            "--kubelet-use-node-status-port",
            f"--kubelet-request-timeout={SCRAPE_TIMEOUT}",
            f"--node-selector={REAL_NODES}",
            f"--metric-resolution={RESOLUTION}",
            "--profiling=false",
            "--v=0",  # at 1 it logs every scrape
        ]

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ctx.pki.ca.cert))

    def answers(self) -> bool:
        """Alive (not yet ready: readiness needs two scrapes): enough to register it."""
        if not self.is_running():
            return False
        ok, _, _ = http_probe(f"{self.url}/livez", expect="ok", verify=self._tls())
        return ok

    def after_start(self) -> None:
        # Again on every `up`: the fence goes with the component's `down`, and a running
        # server whose fence is gone must not stay open to pods.
        self._fence()
        register(self)

    @property
    def fence_marker(self) -> Path:
        """Written when this stack fences the port; the machine has one such table, and
        another stack's `down` (a private one, in tests) must leave it alone."""
        return self.ctx.paths.run / "metrics-server.fence"

    def _fence(self) -> None:
        network.refuse_pods(FENCE_TABLE, self.ctx.settings.metrics_server_port)
        self.fence_marker.write_text(str(self.ctx.paths.state))

    def stop(self) -> bool:
        unregister(self)  # first: never an API group registered with nothing behind it
        stopped = super().stop()
        if self.fence_marker.exists():
            network.remove_table(FENCE_TABLE)
            self.fence_marker.unlink()
        return stopped

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        if not host.nft_table_exists(FENCE_TABLE):
            return Health(False, f"pods are not refused at its port (no nftables {FENCE_TABLE})")
        ok, detail, _ = http_probe(f"{self.url}/readyz", expect="ok", verify=self._tls())
        if not ok:
            return Health(False, detail)
        try:
            nodes = node_metrics(self)
        except Exception as exc:  # the probe reports; it never raises
            return Health(False, f"ready; {API_GROUP} through kube-apiserver: {_why(exc)}")
        if not nodes:
            return Health(False, f"ready; {API_GROUP} has no node's metrics yet")
        usage = "; ".join(
            f"{item['metadata']['name']} cpu {_quantity(item['usage']['cpu']) * 1000:.0f}m "
            f"memory {_quantity(item['usage']['memory']) / 2**20:.0f}Mi"
            for item in nodes
        )
        return Health(True, f"node metrics: {usage}", self.version)


def _quantity(text: str) -> Decimal:
    parsed: Decimal = parse_quantity(text)  # type: ignore[no-untyped-call]
    return parsed


def _why(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason}"
    return type(exc).__name__


def node_metrics(component: MetricsServer) -> list[dict[str, Any]]:
    """The ``NodeMetrics`` items kube-apiserver serves from metrics-server."""
    with api_client(component.ctx) as api:
        listed = client.CustomObjectsApi(api).list_cluster_custom_object(
            API_GROUP, API_VERSION, "nodes", _request_timeout=5
        )
    items: list[dict[str, Any]] = listed.get("items", []) if isinstance(listed, dict) else []
    return items


def _objects(component: MetricsServer) -> tuple[
    client.V1Service, client.V1EndpointSlice, client.V1APIService
]:  # fmt: skip
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name=SERVICE, labels=LABELS),
        spec=client.V1ServiceSpec(
            # Headless and without a selector: nothing routes to it; only the APIService
            # uses it, through the EndpointSlice below.
            cluster_ip="None",
            ports=[client.V1ServicePort(name=PORT_NAME, port=SERVICE_PORT, protocol="TCP")],
        ),
    )
    endpoints = client.V1EndpointSlice(
        metadata=client.V1ObjectMeta(
            name=SERVICE,
            labels={
                **LABELS,
                "kubernetes.io/service-name": SERVICE,
                # Not the EndpointSlice controller's: it leaves this one alone.
                "endpointslice.kubernetes.io/managed-by": "taas-stack",
            },
        ),
        address_type="IPv4",
        endpoints=[
            client.V1Endpoint(
                addresses=[network.GATEWAY], conditions=client.V1EndpointConditions(ready=True)
            )
        ],
        ports=[
            client.DiscoveryV1EndpointPort(
                name=PORT_NAME,
                port=component.ctx.settings.metrics_server_port,
                protocol="TCP",
            )
        ],
    )
    api_service = client.V1APIService(
        metadata=client.V1ObjectMeta(name=API_SERVICE, labels=LABELS),
        spec=client.V1APIServiceSpec(
            group=API_GROUP,
            version=API_VERSION,
            service=client.ApiregistrationV1ServiceReference(
                namespace=NAMESPACE, name=SERVICE, port=SERVICE_PORT
            ),
            ca_bundle=base64.b64encode(component.ctx.pki.ca.cert.read_bytes()).decode(),
            group_priority_minimum=100,
            version_priority=100,
        ),
    )
    return service, endpoints, api_service


def register(component: MetricsServer) -> None:
    """Create (or update) the Service, its EndpointSlice and the APIService."""
    service, endpoints, api_service = _objects(component)
    with api_client(component.ctx) as api:
        core = client.CoreV1Api(api)
        discovery = client.DiscoveryV1Api(api)
        registration = client.ApiregistrationV1Api(api)
        try:
            core.create_namespaced_service(NAMESPACE, service)
        except ApiException as exc:
            if exc.status != 409:
                raise
            core.patch_namespaced_service(SERVICE, NAMESPACE, service)
        try:
            discovery.create_namespaced_endpoint_slice(NAMESPACE, endpoints)
        except ApiException as exc:
            if exc.status != 409:
                raise
            stored_slice = discovery.read_namespaced_endpoint_slice(SERVICE, NAMESPACE)
            endpoints.metadata = _at_version(endpoints.metadata, stored_slice.metadata)
            discovery.replace_namespaced_endpoint_slice(SERVICE, NAMESPACE, endpoints)
        try:
            registration.create_api_service(api_service)
        except ApiException as exc:
            if exc.status != 409:
                raise
            stored_api_service = registration.read_api_service(API_SERVICE)
            api_service.metadata = _at_version(api_service.metadata, stored_api_service.metadata)
            registration.replace_api_service(API_SERVICE, api_service)


def _at_version(
    wanted: client.V1ObjectMeta | None, stored: client.V1ObjectMeta | None
) -> client.V1ObjectMeta:
    """``wanted`` with the stored object's resourceVersion (a replace needs it)."""
    metadata = wanted or client.V1ObjectMeta()
    metadata.resource_version = stored.resource_version if stored is not None else None
    return metadata


def unregister(component: MetricsServer) -> list[str]:
    """Delete the APIService, Service and EndpointSlice (best effort: kube-apiserver may
    be down already); what was deleted."""
    deleted: list[str] = []
    try:
        with api_client(component.ctx) as api:
            registration = client.ApiregistrationV1Api(api)
            if _gone(lambda: registration.delete_api_service(API_SERVICE, _request_timeout=5)):
                deleted.append(f"apiservice {API_SERVICE}")
            discovery = client.DiscoveryV1Api(api)
            if _gone(
                lambda: discovery.delete_namespaced_endpoint_slice(
                    SERVICE, NAMESPACE, _request_timeout=5
                )
            ):
                deleted.append(f"endpointslice {NAMESPACE}/{SERVICE}")
            core = client.CoreV1Api(api)
            if _gone(
                lambda: core.delete_namespaced_service(SERVICE, NAMESPACE, _request_timeout=5)
            ):
                deleted.append(f"service {NAMESPACE}/{SERVICE}")
    except Exception as exc:  # kube-apiserver down: nothing to delete from, or later
        component.ctx.log.info(
            f"[yellow]![/] could not remove {API_SERVICE} from kube-apiserver ({_why(exc)}); "
            "`taas stack down metrics-server` with kube-apiserver running removes it"
        )
    return deleted


def _gone(delete: Callable[[], object]) -> bool:
    """Run ``delete``; True if it deleted something, False if it was not there."""
    try:
        delete()
    except ApiException as exc:
        if exc.status != 404:
            raise
        return False
    return True
