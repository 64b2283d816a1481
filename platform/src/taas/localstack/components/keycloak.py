"""Keycloak, the identity server of operators, banks and vendors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from taas.localstack import install, versions
from taas.localstack.components.base import Health, Port, ProcessComponent, http_probe

CACHED_OBJECTS = 100_000
"""Entries of Keycloak's realm and user caches: room for ~9,000 tenants (~11 each)."""


class Keycloak(ProcessComponent):
    """Keycloak from Maven Central, built once for PostgreSQL and started ``--optimized``."""

    name = "keycloak"
    title = "Keycloak"
    requires = ("postgres",)
    fix_hint = "read the log; a JDK 17+ is needed (TAAS_JAVA_HOME) and PostgreSQL must be up"

    @property
    def version(self) -> str:
        return versions.KEYCLOAK

    @property
    def home(self) -> Path:
        return install.keycloak_home(self.ctx.paths)

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.keycloak_port, "HTTP", "TAAS_KEYCLOAK_PORT"),
            Port(
                self.ctx.settings.keycloak_management_port,
                "management",
                "TAAS_KEYCLOAK_MANAGEMENT_PORT",
            ),
        ]

    def installed(self) -> bool:
        return (self.home / ".taas-build").exists()

    def install(self) -> None:
        install.install_keycloak(self.ctx.log, self.ctx.paths)

    def argv(self) -> list[str]:
        return [str(self.home / "bin" / "kc.sh"), "start", "--optimized"]

    def env(self) -> Mapping[str, str]:
        settings, secrets = self.ctx.settings, self.ctx.secrets
        return {
            "JAVA_HOME": str(install.find_java()),
            "JAVA_OPTS_KC_HEAP": "-Xms128m -Xmx1g",
            "KC_DB_URL": f"jdbc:postgresql://{self.ctx.host}:{settings.postgres_port}/keycloak",
            "KC_DB_USERNAME": "keycloak",
            "KC_DB_PASSWORD": secrets.keycloak_db_password,
            "KC_HTTP_ENABLED": "true",
            "KC_HTTP_HOST": self.ctx.host,
            "KC_HTTP_PORT": str(settings.keycloak_port),
            "KC_HTTP_MANAGEMENT_PORT": str(settings.keycloak_management_port),
            "KC_HOSTNAME_STRICT": "false",
            "KC_CACHE": "local",
            # Keycloak caches realms, clients, roles and groups (organizations) in one
            # cache of 10,000 entries by default, users in another: measured, 5,090 pool
            # tenants and 230 silo realms took 40,300 entries, and past ~1,500 tenants the
            # reconciler's listing read from the database (50 times slower; docs/benchmarks.md)
            "KC_CACHE_EMBEDDED_REALMS_MAX_COUNT": str(CACHED_OBJECTS),
            "KC_CACHE_EMBEDDED_USERS_MAX_COUNT": str(CACHED_OBJECTS),
            "KC_BOOTSTRAP_ADMIN_USERNAME": secrets.keycloak_admin_user,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": secrets.keycloak_admin_password,
        }

    @property
    def url(self) -> str:
        return f"http://{self.ctx.host}:{self.ctx.settings.keycloak_port}"

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        management = f"http://{self.ctx.host}:{self.ctx.settings.keycloak_management_port}"
        ok, detail, _ = http_probe(f"{management}/health/ready", expect='"UP"')
        return Health(ok, detail, self.version if ok else None)
