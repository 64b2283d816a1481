"""etcd, the Kubernetes API server's store."""

from __future__ import annotations

from taas.localstack import install, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe


class Etcd(BuiltComponent):
    """etcd, the Kubernetes API server's store."""

    name = "etcd"
    title = "etcd"
    binary_name = "etcd"

    @property
    def version(self) -> str:
        return versions.ETCD

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.etcd_port, "client", "TAAS_ETCD_PORT"),
            Port(self.ctx.settings.etcd_peer_port, "peer", "TAAS_ETCD_PEER_PORT"),
        ]

    def install(self) -> None:
        install.build_etcd(self.ctx.log, self.ctx.paths)

    @property
    def url(self) -> str:
        return f"http://{self.ctx.host}:{self.ctx.settings.etcd_port}"

    def argv(self) -> list[str]:
        peer = f"http://{self.ctx.host}:{self.ctx.settings.etcd_peer_port}"
        return [
            str(self.binary),
            "--name",
            "taas",
            "--data-dir",
            str(self.ctx.paths.data(self.name)),
            "--listen-client-urls",
            self.url,
            "--advertise-client-urls",
            self.url,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"taas={peer}",
            "--listen-metrics-urls",
            "",
            "--unsafe-no-fsync",
            "--quota-backend-bytes",
            str(2 * 1024**3),
            "--log-level",
            "warn",
        ]

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        ok, detail, _ = http_probe(f"{self.url}/health", expect='"true"')
        if not ok:
            return Health(False, detail)
        _, _, response = http_probe(f"{self.url}/version")
        version = response.json().get("etcdserver") if response is not None else None
        return Health(True, "healthy", version)
