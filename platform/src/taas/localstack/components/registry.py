"""The OCI image registry the node pulls from: CNCF Distribution, on loopback, HTTPS with a
certificate of the stack's CA (so no runtime needs an insecure-registry exception)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

from taas.localstack import install, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe


class Registry(BuiltComponent):
    """``registry`` built from ``github.com/distribution/distribution/v3``."""

    name = "registry"
    title = "image registry"
    binary_name = "registry"
    fix_hint = "read its log; `taas stack reset` drops its storage if it is corrupt"

    @property
    def version(self) -> str:
        return versions.REGISTRY

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.registry_port, "HTTPS", "TAAS_REGISTRY_PORT")]

    @property
    def address(self) -> str:
        """``host:port``, the prefix of every image name pushed here."""
        return f"{self.ctx.host}:{self.ctx.settings.registry_port}"

    def install(self) -> None:
        install.go_install(
            self.ctx.log,
            self.ctx.paths,
            self.name,
            "github.com/distribution/distribution/v3/cmd/registry",
            self.version,
        )

    def prepare(self) -> None:
        self.ctx.pki.ensure(self.ctx.host)
        serving = self.ctx.pki.serving(self.name, self.ctx.host)
        storage = self.ctx.paths.data(self.name)
        storage.mkdir(parents=True, exist_ok=True)
        config = {  # YAML is a superset of JSON
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(storage)},
                "delete": {"enabled": True},
            },
            "http": {
                "addr": self.address,
                "tls": {"certificate": str(serving.cert), "key": str(serving.key)},
            },
        }
        self.config_path.write_text(json.dumps(config, indent=2))

    @property
    def config_path(self) -> Path:
        return self.ctx.paths.data(self.name).with_name("registry.yaml")

    def argv(self) -> list[str]:
        return [str(self.binary), "serve", str(self.config_path)]

    def env(self) -> dict[str, str]:
        # The registry reads OTEL_* variables of its own; keep it from exporting anywhere.
        return {"OTEL_TRACES_EXPORTER": "none"}

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        tls = ssl.create_default_context(cafile=str(self.ctx.pki.ca.cert))
        ok, detail, _ = http_probe(f"https://{self.address}/v2/", verify=tls)
        return Health(ok, detail, self.version if ok else None)
