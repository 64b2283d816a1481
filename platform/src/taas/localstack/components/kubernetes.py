"""The Kubernetes control plane built from source: kube-apiserver, kube-controller-manager
and kube-scheduler, all on client certificates of the local CA."""

from __future__ import annotations

import os
import ssl
from functools import cached_property
from pathlib import Path

from taas.localstack import install, network, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.context import StackContext
from taas.localstack.pki import FRONT_PROXY_CLIENT


def write_kubeconfig(ctx: StackContext, client: str) -> Path:
    """Write (each start) a kubeconfig for ``client`` beside the certificates; its path."""
    path = ctx.paths.pki / f"kubeconfig-{client}"
    path.write_text(ctx.pki.kubeconfig(ctx.apiserver_url, client))
    path.chmod(0o600)
    return path


def write_admin_kubeconfig(ctx: StackContext) -> Path:
    """Write the admin kubeconfig to ``<state>/kubeconfig``; also to ~/.kube/config if unused."""
    text = ctx.pki.kubeconfig(ctx.apiserver_url, "admin")
    ctx.paths.kubeconfig.write_text(text)
    ctx.paths.kubeconfig.chmod(0o600)
    user_config = Path(os.environ.get("HOME", "~")).expanduser() / ".kube" / "config"
    if not user_config.exists() or '"taas-local"' in user_config.read_text():
        user_config.parent.mkdir(parents=True, exist_ok=True)
        user_config.write_text(text)
        user_config.chmod(0o600)
    return ctx.paths.kubeconfig


class KubeServer(BuiltComponent):
    """Shared parts of the Kubernetes control-plane binaries."""

    requires = ("kube-apiserver",)

    @property
    def version(self) -> str:
        return versions.KUBERNETES

    @property
    def build_name(self) -> str:
        return "kubernetes"

    def install(self) -> None:
        install.build_kubernetes(self.ctx.log, self.ctx.paths)

    def kubeconfig_for(self, client: str) -> Path:
        """Write (each start) a kubeconfig for ``client`` and return its path."""
        return write_kubeconfig(self.ctx, client)

    def client_of_apiserver(self, port: int) -> list[str]:
        """The flags of a server that serves HTTPS on ``port`` and talks to the API server."""
        pki, host = self.ctx.pki, self.ctx.host
        kubeconfig = self.kubeconfig_for(self.name)
        serving = pki.serving(self.name, host)
        return [
            str(self.binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={host}",
            f"--secure-port={port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
        ]

    def _health_via_ca(self, port: int, path: str) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        pki = self.ctx.pki
        admin = pki.client("admin")
        tls = ssl.create_default_context(cafile=str(pki.ca.cert))
        tls.load_cert_chain(str(admin.cert), str(admin.key))
        ok, detail, _ = http_probe(f"https://{self.ctx.host}:{port}{path}", expect="ok", verify=tls)
        return Health(ok, detail, self._cached_version if ok else None)

    @cached_property
    def _cached_version(self) -> str | None:
        text = self.binary_version()
        return text.split()[-1] if text else None


class KubeApiserver(KubeServer):
    name = "kube-apiserver"
    title = "kube-apiserver"
    binary_name = "kube-apiserver"
    requires = ("etcd",)

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.apiserver_port, "HTTPS", "TAAS_APISERVER_PORT")]

    def prepare(self) -> None:
        self.ctx.pki.ensure(self.ctx.host)
        write_admin_kubeconfig(self.ctx)

    def argv(self) -> list[str]:
        pki, host = self.ctx.pki, self.ctx.host
        serving = pki.serving(self.name, host)
        kubelet_client = pki.client("kube-apiserver-kubelet-client", group="system:masters")
        return [
            str(self.binary),
            f"--etcd-servers=http://{host}:{self.ctx.settings.etcd_port}",
            f"--bind-address={host}",
            f"--advertise-address={host}",
            f"--secure-port={self.ctx.settings.apiserver_port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={network.SERVICE_SUBNET}",
            # Node: a kubelet reads and writes only its own node and pods.
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={kubelet_client.cert}",
            f"--kubelet-client-key={kubelet_client.key}",
            f"--kubelet-certificate-authority={pki.ca.cert}",
            "--kubelet-preferred-address-types=InternalIP",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            *self.aggregation_flags(),
        ]

    def aggregation_flags(self) -> list[str]:
        """The API aggregation layer (metrics.k8s.io is served by metrics-server): requests
        for an aggregated API are forwarded with the caller's name in headers, the forward
        authenticated by the front proxy's certificate; they go straight to the endpoint
        of the APIService's Service (no Service address is routed to on this machine)."""
        pki = self.ctx.pki
        front_proxy = pki.front_proxy_client()
        return [
            f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
            f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={front_proxy.cert}",
            f"--proxy-client-key-file={front_proxy.key}",
            "--enable-aggregator-routing=true",
        ]

    def probe(self) -> Health:
        return self._health_via_ca(self.ctx.settings.apiserver_port, "/readyz")


class KubeControllerManager(KubeServer):
    name = "kube-controller-manager"
    title = "kube-controller-manager"
    binary_name = "kube-controller-manager"

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.controller_manager_port, "HTTPS", "TAAS_CONTROLLER_MANAGER_PORT")
        ]

    def argv(self) -> list[str]:
        pki = self.ctx.pki
        return [
            *self.client_of_apiserver(self.ctx.settings.controller_manager_port),
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca.cert}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--cluster-name=taas-local",
        ]

    def probe(self) -> Health:
        return self._health_via_ca(self.ctx.settings.controller_manager_port, "/healthz")


class KubeScheduler(KubeServer):
    name = "kube-scheduler"
    title = "kube-scheduler"
    binary_name = "kube-scheduler"

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.scheduler_port, "HTTPS", "TAAS_SCHEDULER_PORT")]

    def argv(self) -> list[str]:
        return [*self.client_of_apiserver(self.ctx.settings.scheduler_port), "--leader-elect=false"]

    def probe(self) -> Health:
        return self._health_via_ca(self.ctx.settings.scheduler_port, "/healthz")
