"""PostgreSQL 15 from Debian, run as a cluster of its own with ``pg_ctlcluster``."""

from __future__ import annotations

import hashlib
import subprocess
from functools import cached_property
from pathlib import Path

import psycopg

from taas.kit.errors import TaasError
from taas.kit.settings import default_state_dir
from taas.localstack import install, versions
from taas.localstack.components.base import Component, Health, Port


class Postgres(Component):
    """PostgreSQL 15 as a Debian cluster named ``taas`` (``pg_ctlcluster 15 taas``)."""

    name = "postgres"
    title = "PostgreSQL"
    fix_hint = "read the log; `pg_lsclusters` lists clusters, `taas stack reset` starts over"

    @property
    def version(self) -> str:
        return versions.POSTGRES_MAJOR

    @cached_property
    def cluster(self) -> str:
        """``taas`` for the default state folder; another state folder gets its own cluster."""
        state = self.ctx.paths.state.resolve()
        if state == default_state_dir().resolve():
            return "taas"
        return f"taas-{hashlib.sha256(str(state).encode()).hexdigest()[:10]}"

    @property
    def log_path(self) -> Path:
        return Path(f"/var/log/postgresql/postgresql-{self.version}-{self.cluster}.log")

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.postgres_port, "port", "TAAS_POSTGRES_PORT")]

    def installed(self) -> bool:
        return (install.POSTGRES_BIN / "postgres").exists()

    def install(self) -> None:
        install.ensure_apt(self.ctx.log, self.ctx.paths, ["postgresql"])

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pg_ctlcluster", self.version, self.cluster, *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise TaasError(
                f"pg_ctlcluster {' '.join(args)} failed: "
                f"{(result.stderr or result.stdout).strip()}",
                hint=f"read {self.log_path}",
            )
        return result

    def _exists(self) -> bool:
        return Path(f"/etc/postgresql/{self.version}/{self.cluster}/postgresql.conf").exists()

    def is_running(self) -> bool:
        return self._exists() and self._ctl("status", check=False).returncode == 0

    def _create_cluster(self) -> None:
        port = str(self.ctx.settings.postgres_port)
        with self.ctx.log.step(f"creating PostgreSQL cluster {self.version}/{self.cluster}"):
            result = subprocess.run(
                [
                    "pg_createcluster",
                    self.version,
                    self.cluster,
                    "--port",
                    port,
                    "--start-conf",
                    "manual",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                    "--",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise TaasError(
                    f"pg_createcluster failed: {result.stderr.strip()}",
                    hint="pg_lsclusters lists clusters; pg_dropcluster removes a broken one",
                )

    def _configure(self) -> None:
        settings = {
            "port": str(self.ctx.settings.postgres_port),
            "listen_addresses": f"'{self.ctx.host}'",
            "max_connections": "300",
            "shared_buffers": "256MB",
            "synchronous_commit": "off",
        }
        conf = Path(f"/etc/postgresql/{self.version}/{self.cluster}/conf.d/taas.conf")
        conf.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))

    def start(self) -> None:
        if not self._exists():
            self._create_cluster()
        self._configure()
        self.check_ports_free()
        self._ctl("start")

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._ctl("stop", "-m", "fast")
        return True

    def drop(self) -> bool:
        """Delete the cluster and its data; True if there was one."""
        if not self._exists():
            return False
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.cluster],
            capture_output=True,
            text=True,
            check=True,
        )
        return True

    def _psql(self, sql: str) -> None:
        result = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-p",
                str(self.ctx.settings.postgres_port),
                "-d",
                "postgres",
            ],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise TaasError(f"bootstrap SQL failed: {result.stderr.strip()}", hint=self.fix_hint)

    def answers(self) -> bool:
        return self.is_running()

    def after_start(self) -> None:
        secrets = self.ctx.secrets
        roles = {
            secrets.postgres_user: ("LOGIN SUPERUSER", secrets.postgres_password),
            "keycloak": ("LOGIN", secrets.keycloak_db_password),
        }
        statements = []
        for role, (options, password) in roles.items():
            literal = password.replace("'", "''")
            # Role names are constants and passwords url-safe tokens, quoted as literals.
            statements.append(
                f"SELECT format('CREATE ROLE %I', '{role}') "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n"
                f"ALTER ROLE \"{role}\" {options} PASSWORD '{literal}';\n"
                f"SELECT format('CREATE DATABASE %I OWNER %I', '{role}', '{role}') "
                f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{role}')\\gexec\n"
            )
        self._psql("".join(statements))

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        try:
            with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                row = conn.execute("SELECT current_setting('server_version')").fetchone()
        except psycopg.Error as exc:
            return Health(False, f"running, but login failed: {str(exc).strip()[:100]}")
        return Health(True, "accepting connections", row[0] if row else None)

    def dsn(self, database: str | None = None) -> str:
        secrets = self.ctx.secrets
        host, port = self.ctx.host, self.ctx.settings.postgres_port
        return (
            f"postgresql://{secrets.postgres_user}:{secrets.postgres_password}"
            f"@{host}:{port}/{database or secrets.postgres_user}"
        )
