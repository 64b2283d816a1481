"""Cluster DNS for the real node's pods: CoreDNS answering ``*.cluster.local`` from the API.

It listens on the pod bridge's address (the node itself, as pods see it), which the stack
creates and which is not routed off the machine; names outside the cluster get no answer,
since pods have no business reaching the internet. Health and readiness are on loopback.
"""

from __future__ import annotations

from pathlib import Path

from taas.localstack import install, network, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.components.kubernetes import write_kubeconfig
from taas.localstack.kube import ensure_cluster_role

DNS_PORT = 53
COREDNS_USER = "taas:coredns"
COREDNS_RULES = [  # what its kubernetes plugin watches
    (
        ["", "discovery.k8s.io"],
        ["endpoints", "services", "pods", "namespaces", "endpointslices"],
        ["list", "watch"],
    ),
]


class CoreDns(BuiltComponent):
    name = "coredns"
    title = "CoreDNS"
    binary_name = "coredns"
    requires = ("kube-apiserver", "containerd")

    @property
    def version(self) -> str:
        return versions.COREDNS

    def ports(self) -> list[Port]:
        settings = self.ctx.settings
        return [
            Port(settings.coredns_health_port, "health", "TAAS_COREDNS_HEALTH_PORT"),
            Port(settings.coredns_ready_port, "readiness", "TAAS_COREDNS_READY_PORT"),
        ]

    def install(self) -> None:
        install.go_install(
            self.ctx.log, self.ctx.paths, self.name, "github.com/coredns/coredns", self.version
        )

    @property
    def corefile(self) -> Path:
        return self.ctx.paths.data(self.name) / "Corefile"

    def prepare(self) -> None:
        self.ctx.pki.client(self.name, COREDNS_USER)
        ensure_cluster_role(self.ctx, COREDNS_USER, COREDNS_RULES)
        kubeconfig = write_kubeconfig(self.ctx, self.name)
        host, settings = self.ctx.host, self.ctx.settings
        self.corefile.parent.mkdir(parents=True, exist_ok=True)
        self.corefile.write_text(
            f"""cluster.local:{DNS_PORT} in-addr.arpa:{DNS_PORT} {{
    bind {network.GATEWAY}
    errors
    health {host}:{settings.coredns_health_port}
    ready {host}:{settings.coredns_ready_port}
    kubernetes cluster.local in-addr.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa
    }}
    cache 30
}}

.:{DNS_PORT} {{
    bind {network.GATEWAY}
    errors
    template ANY ANY {{
        rcode REFUSED
    }}
}}
"""
        )

    def argv(self) -> list[str]:
        return [str(self.binary), "-conf", str(self.corefile)]

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        url = f"http://{self.ctx.host}:{self.ctx.settings.coredns_ready_port}/ready"
        ok, detail, _ = http_probe(url, expect="OK")
        return Health(
            ok, f"answering on {network.GATEWAY}:53" if ok else detail, self.version if ok else None
        )
