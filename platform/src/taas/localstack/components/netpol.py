"""NetworkPolicy enforcement on the real node: ``sigs.k8s.io/kube-network-policies``.

It turns each policy into nftables rules (its table ``inet kube-network-policies``) and
asks for a verdict per new connection through an NFQUEUE. It only knows the in-cluster
way to find the API server (a service account token at a fixed path), so it runs in a
mount namespace of its own where that path holds a token for its service account; the
machine's folders are not touched. It fails closed: while it is down, new connections
of pods that a policy selects are dropped.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from taas.localstack import install, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.components.node import node_name
from taas.localstack.kube import service_account_token

NAMESPACE = "kube-system"
ACCOUNT = "kube-network-policies"
TABLES = ("kube-network-policies", "kube-network-policies-dnscache")
RULES = [
    ([""], ["pods", "namespaces"], ["list", "watch"]),
    (["networking.k8s.io"], ["networkpolicies"], ["list", "watch"]),
]
_IN_CLUSTER = "/run/secrets/kubernetes.io/serviceaccount"
TOKEN_LIFETIME_S = 365 * 24 * 3600  # requested again at every start


class NetworkPolicies(BuiltComponent):
    name = "kube-network-policies"
    title = "NetworkPolicy enforcer"
    binary_name = "kube-network-policies"
    requires = ("kubelet",)

    @property
    def version(self) -> str:
        return versions.KUBE_NETWORK_POLICIES

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.netpol_metrics_port, "metrics", "TAAS_NETPOL_METRICS_PORT")]

    def install(self) -> None:
        install.go_install(
            self.ctx.log,
            self.ctx.paths,
            self.name,
            "sigs.k8s.io/kube-network-policies/cmd",
            self.version,
            binary=self.binary_name,
        )

    @property
    def credentials(self) -> Path:
        return self.ctx.paths.data(self.name)

    def prepare(self) -> None:
        self.credentials.mkdir(parents=True, exist_ok=True)
        token = service_account_token(self.ctx, NAMESPACE, ACCOUNT, RULES, TOKEN_LIFETIME_S)
        (self.credentials / "token").write_text(token)
        (self.credentials / "token").chmod(0o600)
        (self.credentials / "ca.crt").write_bytes(self.ctx.pki.ca.cert.read_bytes())
        (self.credentials / "namespace").write_text(NAMESPACE)

    def argv(self) -> list[str]:
        host, settings = self.ctx.host, self.ctx.settings
        enforcer = shlex.join(
            [
                str(self.binary),
                f"--hostname-override={node_name()}",
                f"--metrics-bind-address={host}:{settings.netpol_metrics_port}",
                "--disable-nri",  # containerd 1.6 has no NRI; pod addresses come from the API
                "--v=1",
            ]
        )
        # A private /run holding only the in-cluster credentials, then the enforcer itself.
        script = (
            f"mount -t tmpfs -o size=1m,mode=0755 taas-netpol /run && "
            f"mkdir -p {_IN_CLUSTER} && cp {shlex.quote(str(self.credentials))}/* {_IN_CLUSTER}/ "
            f"&& exec {enforcer}"
        )
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script]

    def env(self) -> dict[str, str]:
        return {
            "KUBERNETES_SERVICE_HOST": self.ctx.host,
            "KUBERNETES_SERVICE_PORT": str(self.ctx.settings.apiserver_port),
        }

    def stop(self) -> bool:
        stopped = super().stop()
        for table in TABLES:  # it removes its tables when it exits cleanly; not when killed
            subprocess.run(
                ["nft", "delete", "table", "inet", table],
                capture_output=True,
                timeout=30,
                check=False,
            )
        return stopped

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        url = f"http://{self.ctx.host}:{self.ctx.settings.netpol_metrics_port}/metrics"
        ok, detail, _ = http_probe(url)
        if not ok:
            return Health(False, detail)
        listed = subprocess.run(
            ["nft", "list", "table", "inet", TABLES[0]],
            capture_output=True,
            timeout=10,
            check=False,
        )
        if listed.returncode != 0:
            return Health(False, "its nftables table is not there yet")
        return Health(True, "enforcing", self.version)
