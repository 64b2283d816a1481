"""MinIO, the S3 store of tenant buckets and audit checkpoints."""

from __future__ import annotations

from collections.abc import Mapping

from taas.localstack import install, versions
from taas.localstack.components.base import BuiltComponent, Health, Port, http_probe


class Minio(BuiltComponent):
    """MinIO built from its Go module, with a built-in KMS key for server-side encryption."""

    name = "minio"
    title = "MinIO"
    binary_name = "minio"

    @property
    def version(self) -> str:
        return versions.MINIO

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.minio_port, "S3 API", "TAAS_MINIO_PORT"),
            Port(self.ctx.settings.minio_console_port, "console", "TAAS_MINIO_CONSOLE_PORT"),
        ]

    def install(self) -> None:
        install.go_install(
            self.ctx.log, self.ctx.paths, self.name, "github.com/minio/minio", self.version
        )

    def argv(self) -> list[str]:
        data = self.ctx.paths.data(self.name)
        data.mkdir(parents=True, exist_ok=True)
        host = self.ctx.host
        return [
            str(self.binary),
            "server",
            str(data),
            "--address",
            f"{host}:{self.ctx.settings.minio_port}",
            "--console-address",
            f"{host}:{self.ctx.settings.minio_console_port}",
        ]

    def env(self) -> Mapping[str, str]:
        secrets = self.ctx.secrets
        return {
            "MINIO_ROOT_USER": secrets.minio_root_user,
            "MINIO_ROOT_PASSWORD": secrets.minio_root_password,
            "MINIO_KMS_SECRET_KEY": secrets.minio_kms_key,
            "MINIO_UPDATE": "off",
        }

    @property
    def endpoint(self) -> str:
        return f"{self.ctx.host}:{self.ctx.settings.minio_port}"

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        ok, detail, _ = http_probe(f"http://{self.endpoint}/minio/health/ready")
        return Health(ok, detail, self.version if ok else None)
