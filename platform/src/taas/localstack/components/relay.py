"""The node relay: what pods on the real node may reach of the stack's loopback servers
(the control plane's API for storage credentials, and MinIO), on the pod bridge's address.

In a cluster these are Services; here they are host processes on loopback, and the relay
(:mod:`taas.localstack.relay`) stands in for the Services' addresses.
"""

from __future__ import annotations

import socket
import sys

from taas.kit.errors import ConfigurationError
from taas.localstack import network
from taas.localstack.components.base import Health, Port, ProcessComponent, http_probe


class NodeRelay(ProcessComponent):
    name = "node-relay"
    title = "node relay"
    requires = ("containerd", "minio")

    @property
    def version(self) -> str:
        return "taas"  # the stack's own code (taas.localstack.relay)

    def ports(self) -> list[Port]:
        return []  # it binds the bridge's address, not loopback

    @property
    def relayed(self) -> list[int]:
        settings = self.ctx.settings
        return [settings.api_port, settings.minio_port]

    def installed(self) -> bool:
        return True

    def install(self) -> None:
        """Nothing to install: the relay is part of the platform's package."""

    def argv(self) -> list[str]:
        ports = [str(port) for port in self.relayed]
        return [sys.executable, "-m", "taas.localstack.relay", "--listen", network.GATEWAY,
                "--to", self.ctx.host, *ports]  # fmt: skip

    def check_ports_free(self) -> None:
        for port in self.relayed:
            with socket.socket() as probe:
                if probe.connect_ex((network.GATEWAY, port)) == 0:
                    raise ConfigurationError(
                        f"{network.GATEWAY}:{port} is already taken by another process",
                        hint="stop what listens there (`ss -ltnp`), or the other stack's relay",
                    )

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        url = f"http://{network.GATEWAY}:{self.ctx.settings.minio_port}/minio/health/live"
        ok, detail, _ = http_probe(url)
        ports = ", ".join(str(port) for port in self.relayed)
        return Health(ok, f"pods reach {network.GATEWAY}:{ports}" if ok else detail, "taas")
