"""NetworkPolicy enforcement on the real node: kube-router's firewall, alone (its router and
service proxy are off; kube-proxy serves Services).

kube-network-policies, the first choice, needs nftables' ``queue`` expression, which this
machine kind's kernel lacks (measured: any rule with ``queue`` is refused), so policies are
enforced with iptables and ipsets instead (ADR 0008). kube-router writes its chains
(``KUBE-ROUTER-*``, ``KUBE-NWPLCY-*``, ``KUBE-POD-FW-*``) and ipsets (``KUBE-SRC-*``,
``KUBE-DST-*``); its own ``--cleanup-config`` leaves them (and crashes on the service
proxy's part), so the node's ``down`` removes them (``host.remove_iptables_chains``). Its
health server would listen on every interface, so it is off; the probe reads its metrics,
on loopback.
"""

from __future__ import annotations

from taas.localstack import install, network, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.components.kubernetes import write_kubeconfig
from taas.localstack.components.node import node_name
from taas.localstack.kube import ensure_cluster_role

USER = "taas:kube-router"
RULES = [  # what its firewall watches
    ([""], ["pods", "namespaces", "nodes", "services", "endpoints"], ["get", "list", "watch"]),
    (["networking.k8s.io"], ["networkpolicies"], ["get", "list", "watch"]),
    (["discovery.k8s.io"], ["endpointslices"], ["get", "list", "watch"]),
]


class NetworkPolicies(BuiltComponent):
    name = "kube-router"
    title = "NetworkPolicy enforcer"
    binary_name = "kube-router"
    requires = ("kubelet",)

    @property
    def version(self) -> str:
        return versions.KUBE_ROUTER

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.netpol_metrics_port, "metrics", "TAAS_NETPOL_METRICS_PORT")]

    def installed(self) -> bool:
        return super().installed() and install.apt_installed(["ipset"])

    def install(self) -> None:
        install.ensure_apt(self.ctx.log, self.ctx.paths, ["ipset"])
        install.build_in_wrapper(
            self.ctx.log,
            self.ctx.paths,
            self.name,
            "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",
            self.version,
            upgrades=versions.KUBE_ROUTER_UPGRADES,
        )

    def prepare(self) -> None:
        self.ctx.pki.client(self.name, USER)
        ensure_cluster_role(self.ctx, USER, RULES)

    def argv(self) -> list[str]:
        return [
            str(self.binary),
            f"--kubeconfig={write_kubeconfig(self.ctx, self.name)}",
            f"--hostname-override={node_name()}",
            "--run-firewall=true",
            "--run-router=false",
            "--run-service-proxy=false",
            "--run-loadbalancer=false",
            "--enable-ipv6=false",
            f"--service-cluster-ip-range={network.SERVICE_SUBNET}",
            "--health-port=0",
            f"--metrics-addr={self.ctx.host}",
            f"--metrics-port={self.ctx.settings.netpol_metrics_port}",
            "--iptables-sync-period=1m",
            "--v=1",
        ]

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        url = f"http://{self.ctx.host}:{self.ctx.settings.netpol_metrics_port}/metrics"
        ok, detail, _ = http_probe(url)
        return Health(ok, "enforcing" if ok else detail, self.version if ok else None)
