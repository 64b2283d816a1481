"""kwok: fake nodes that take Pods to Running without a container runtime."""

from __future__ import annotations

from pathlib import Path

from taas.localstack import install, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe
from taas.localstack.components.kubernetes import write_kubeconfig
from taas.localstack.kube import ensure_fake_nodes, ready_nodes

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODES = ("taas-kwok-node-0", "taas-kwok-node-1")


class Kwok(BuiltComponent):
    """kwok: fake nodes that take Pods to Running without a container runtime."""

    name = "kwok"
    title = "kwok"
    binary_name = "kwok"
    requires = ("kube-apiserver",)

    @property
    def version(self) -> str:
        return versions.KWOK

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.kwok_port, "health", "TAAS_KWOK_PORT")]

    @property
    def stages(self) -> Path:
        return self.binary.with_name("stages.yaml")

    def installed(self) -> bool:
        return self.binary.exists() and self.stages.exists()

    def install(self) -> None:
        install.go_install(
            self.ctx.log, self.ctx.paths, self.name, "sigs.k8s.io/kwok/cmd/kwok", self.version
        )
        install.kwok_stages(self.ctx.paths)

    def argv(self) -> list[str]:
        kubeconfig = write_kubeconfig(self.ctx, "kwok")
        return [
            str(self.binary),
            f"--kubeconfig={kubeconfig}",
            f"--config={self.stages}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
            f"--server-address={self.ctx.host}:{self.ctx.settings.kwok_port}",
            "--cidr=10.244.0.0/16",
            f"--node-ip={self.ctx.host}",
        ]

    @property
    def health_url(self) -> str:
        return f"http://{self.ctx.host}:{self.ctx.settings.kwok_port}/healthz"

    def answers(self) -> bool:
        return self.is_running() and http_probe(self.health_url)[0]

    def after_start(self) -> None:
        ensure_fake_nodes(self.ctx, KWOK_NODES, KWOK_NODE_ANNOTATION)

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        ok, detail, _ = http_probe(self.health_url)
        if not ok:
            return Health(False, detail)
        try:
            ready = [name for name in ready_nodes(self.ctx) if name in KWOK_NODES]
        except Exception as exc:
            return Health(False, f"cannot list nodes: {exc}")
        if len(ready) < len(KWOK_NODES):
            return Health(False, f"{len(ready)}/{len(KWOK_NODES)} fake nodes Ready")
        return Health(True, f"{len(ready)} fake nodes Ready", versions.KWOK)
