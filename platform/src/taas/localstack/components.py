"""The servers of the local stack, each able to install, start, probe and stop itself."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import httpx
import psycopg
import redis

from taas.kit.errors import ConfigurationError, TaasError
from taas.kit.settings import default_state_dir
from taas.localstack import install, versions
from taas.localstack.context import StackContext
from taas.localstack.kube import ensure_fake_nodes, ready_nodes
from taas.localstack.process import PidFile, ensure_port_free, spawn, terminate

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Health:
    """Result of one health probe."""

    ok: bool
    detail: str
    version: str | None = None


@dataclass(frozen=True)
class Port:
    """A loopback port a component listens on, and the setting that moves it."""

    number: int
    what: str
    setting: str


class Component(ABC):
    """One server of the local stack."""

    name: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    fix_hint: ClassVar[str] = "read its log for the cause"

    def __init__(self, ctx: StackContext) -> None:
        self.ctx = ctx

    @property
    def log_path(self) -> Path:
        return self.ctx.paths.log(self.name)

    @property
    @abstractmethod
    def version(self) -> str:
        """The pinned version this component installs."""

    @abstractmethod
    def ports(self) -> list[Port]:
        """Ports this component binds."""

    @abstractmethod
    def installed(self) -> bool:
        """True when everything needed to start is on this machine."""

    @abstractmethod
    def install(self) -> None:
        """Put the binaries in place (cached, skipped when present)."""

    @abstractmethod
    def is_running(self) -> bool:
        """True when the process we started is alive."""

    @abstractmethod
    def start(self) -> None:
        """Start without waiting for health (the stack waits)."""

    @abstractmethod
    def stop(self) -> bool:
        """Stop what we started; True if something was running."""

    @abstractmethod
    def probe(self) -> Health:
        """Check health once, quickly."""

    def answers(self) -> bool:
        """True once the server answers enough for ``after_start`` to run."""
        return self.probe().ok

    def after_start(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Set-up once the server answers (roles, nodes, ...); idempotent."""

    def check_ports_free(self) -> None:
        for port in self.ports():
            ensure_port_free(self.ctx.host, port.number, f"{self.title} {port.what}", port.setting)


class ProcessComponent(Component):
    """A server run as a child process of ours, tracked by a pid file."""

    @abstractmethod
    def argv(self) -> list[str]:
        """The command line."""

    def env(self) -> Mapping[str, str]:
        return {}

    def prepare(self) -> None:
        """Write config files and create data folders before the first start."""

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.ctx.paths.pid(self.name))

    def is_running(self) -> bool:
        return self.pid_file.running_pid() is not None

    def start(self) -> None:
        self.check_ports_free()
        self.prepare()
        spawn(self.argv(), pid_file=self.pid_file, log=self.log_path, env=self.env())

    def stop(self) -> bool:
        return terminate(self.pid_file)

    def _binary_version(self, binary: Path) -> str | None:
        try:
            out = subprocess.run(
                [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else None


def _http_probe(
    url: str, *, expect: str | None = None, **client_args: Any
) -> tuple[bool, str, httpx.Response | None]:
    try:
        with httpx.Client(timeout=PROBE_TIMEOUT_S, **client_args) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return False, f"{url}: {type(exc).__name__}", None
    if response.status_code != 200 or (expect is not None and expect not in response.text):
        return False, f"{url}: HTTP {response.status_code} {response.text[:80]}", response
    return True, "ready", response


# --------------------------------------------------------------------------- PostgreSQL


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


# --------------------------------------------------------------------------- Redis


class Redis(ProcessComponent):
    """Redis 7 from Debian, the Celery broker, with a password and no persistence."""

    name = "redis"
    title = "Redis"
    fix_hint = "read the log; a stale pid file is cleared by `taas stack down`"

    @property
    def version(self) -> str:
        return versions.REDIS_MAJOR

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.redis_port, "port", "TAAS_REDIS_PORT")]

    def installed(self) -> bool:
        return install.APT_PACKAGES["redis"][0].exists()

    def install(self) -> None:
        install.ensure_apt(self.ctx.log, self.ctx.paths, ["redis"])

    @property
    def _conf(self) -> Path:
        return self.ctx.paths.state / "redis.conf"

    def prepare(self) -> None:
        data = self.ctx.paths.data(self.name)
        data.mkdir(parents=True, exist_ok=True)
        self._conf.write_text(
            f"bind {self.ctx.host}\nport {self.ctx.settings.redis_port}\n"
            f"dir {data}\nrequirepass {self.ctx.secrets.redis_password}\n"
            'save ""\nappendonly no\ndaemonize no\nprotected-mode yes\n'
        )
        self._conf.chmod(0o600)

    def argv(self) -> list[str]:
        return [str(install.APT_PACKAGES["redis"][0]), str(self._conf)]

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.ctx.secrets.redis_password}@{self.ctx.host}:{self.ctx.settings.redis_port}/{db}"

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        try:
            client = redis.Redis.from_url(self.url(), socket_timeout=PROBE_TIMEOUT_S)
            info = client.info("server")
        except redis.RedisError as exc:
            return Health(False, f"running, but PING failed: {exc}")
        finally:
            client.close()
        return Health(True, "PONG", str(info.get("redis_version")))


# --------------------------------------------------------------------------- MinIO


class Minio(ProcessComponent):
    """MinIO built from its Go module, with a built-in KMS key for server-side encryption."""

    name = "minio"
    title = "MinIO"

    @property
    def version(self) -> str:
        return versions.MINIO

    @property
    def binary(self) -> Path:
        return self.ctx.paths.bin_dir(self.name, self.version) / "minio"

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.minio_port, "S3 API", "TAAS_MINIO_PORT"),
            Port(self.ctx.settings.minio_console_port, "console", "TAAS_MINIO_CONSOLE_PORT"),
        ]

    def installed(self) -> bool:
        return self.binary.exists()

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
        ok, detail, _ = _http_probe(f"http://{self.endpoint}/minio/health/ready")
        return Health(ok, detail, self.version if ok else None)


# --------------------------------------------------------------------------- Keycloak


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
        ok, detail, _ = _http_probe(f"{management}/health/ready", expect='"UP"')
        return Health(ok, detail, self.version if ok else None)


# --------------------------------------------------------------------------- Kubernetes


class Etcd(ProcessComponent):
    """etcd, the Kubernetes API server's store."""

    name = "etcd"
    title = "etcd"

    @property
    def version(self) -> str:
        return versions.ETCD

    @property
    def binary(self) -> Path:
        return self.ctx.paths.bin_dir(self.name, self.version) / "etcd"

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.etcd_port, "client", "TAAS_ETCD_PORT"),
            Port(self.ctx.settings.etcd_peer_port, "peer", "TAAS_ETCD_PEER_PORT"),
        ]

    def installed(self) -> bool:
        return self.binary.exists()

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
        ok, detail, _ = _http_probe(f"{self.url}/health", expect='"true"')
        if not ok:
            return Health(False, detail)
        _, _, response = _http_probe(f"{self.url}/version")
        version = response.json().get("etcdserver") if response is not None else None
        return Health(True, "healthy", version)


class KubeServer(ProcessComponent):
    """Shared parts of the Kubernetes control-plane binaries."""

    binary_name: ClassVar[str]
    requires = ("kube-apiserver",)

    @property
    def version(self) -> str:
        return versions.KUBERNETES

    @property
    def binary(self) -> Path:
        return self.ctx.paths.bin_dir("kubernetes", self.version) / self.binary_name

    def installed(self) -> bool:
        return self.binary.exists()

    def install(self) -> None:
        install.build_kubernetes(self.ctx.log, self.ctx.paths)

    def kubeconfig_for(self, client: str) -> Path:
        """Write (each start) a kubeconfig for ``client`` and return its path."""
        path = self.ctx.paths.pki / f"kubeconfig-{client}"
        path.write_text(self.ctx.pki.kubeconfig(self.ctx.apiserver_url, client))
        path.chmod(0o600)
        return path

    def _health_via_ca(self, port: int, path: str) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        pki = self.ctx.pki
        admin = pki.client("admin")
        tls = ssl.create_default_context(cafile=str(pki.ca.cert))
        tls.load_cert_chain(str(admin.cert), str(admin.key))
        ok, detail, _ = _http_probe(
            f"https://{self.ctx.host}:{port}{path}", expect="ok", verify=tls
        )
        return Health(ok, detail, self._cached_version if ok else None)

    @cached_property
    def _cached_version(self) -> str | None:
        text = self._binary_version(self.binary)
        return text.split()[-1] if text else None


class KubeApiserver(KubeServer):
    name = "kube-apiserver"
    title = "kube-apiserver"
    binary_name = "kube-apiserver"
    requires = ("etcd",)

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.apiserver_port, "HTTPS", "TAAS_APISERVER_PORT")]

    def prepare(self) -> None:
        self.ctx.pki.ensure(self.ctx.host)
        write_admin_kubeconfig(self.ctx)

    def argv(self) -> list[str]:
        pki, host = self.ctx.pki, self.ctx.host
        serving = pki.serving(self.name, host)
        return [
            str(self.binary),
            f"--etcd-servers=http://{host}:{self.ctx.settings.etcd_port}",
            f"--bind-address={host}",
            f"--advertise-address={host}",
            f"--secure-port={self.ctx.settings.apiserver_port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]

    def probe(self) -> Health:
        return self._health_via_ca(self.ctx.settings.apiserver_port, "/readyz")


class KubeControllerManager(KubeServer):
    name = "kube-controller-manager"
    title = "kube-controller-manager"
    binary_name = "kube-controller-manager"

    def ports(self) -> list[Port]:
        return [
            Port(self.ctx.settings.controller_manager_port, "HTTPS", "TAAS_CONTROLLER_MANAGER_PORT")
        ]

    def argv(self) -> list[str]:
        pki, host = self.ctx.pki, self.ctx.host
        kubeconfig = self.kubeconfig_for(self.name)
        serving = pki.serving(self.name, host)
        return [
            str(self.binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={host}",
            f"--secure-port={self.ctx.settings.controller_manager_port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca.cert}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--cluster-name=taas-local",
        ]

    def probe(self) -> Health:
        return self._health_via_ca(self.ctx.settings.controller_manager_port, "/healthz")


class KubeScheduler(KubeServer):
    name = "kube-scheduler"
    title = "kube-scheduler"
    binary_name = "kube-scheduler"

    def ports(self) -> list[Port]:
        return [Port(self.ctx.settings.scheduler_port, "HTTPS", "TAAS_SCHEDULER_PORT")]

    def argv(self) -> list[str]:
        pki, host = self.ctx.pki, self.ctx.host
        kubeconfig = self.kubeconfig_for(self.name)
        serving = pki.serving(self.name, host)
        return [
            str(self.binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={host}",
            f"--secure-port={self.ctx.settings.scheduler_port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            "--leader-elect=false",
        ]

    def probe(self) -> Health:
        return self._health_via_ca(self.ctx.settings.scheduler_port, "/healthz")


KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODES = ("taas-kwok-node-0", "taas-kwok-node-1")


class Kwok(ProcessComponent):
    """kwok: fake nodes that take Pods to Running without a container runtime."""

    name = "kwok"
    title = "kwok"
    requires = ("kube-apiserver",)

    @property
    def version(self) -> str:
        return versions.KWOK

    @property
    def binary(self) -> Path:
        return self.ctx.paths.bin_dir(self.name, self.version) / "kwok"

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
        kubeconfig = self.ctx.paths.pki / "kubeconfig-kwok"
        kubeconfig.write_text(self.ctx.pki.kubeconfig(self.ctx.apiserver_url, "kwok"))
        kubeconfig.chmod(0o600)
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

    def answers(self) -> bool:
        url = f"http://{self.ctx.host}:{self.ctx.settings.kwok_port}/healthz"
        return self.is_running() and _http_probe(url)[0]

    def after_start(self) -> None:
        ensure_fake_nodes(self.ctx, KWOK_NODES, KWOK_NODE_ANNOTATION)

    def probe(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        ok, detail, _ = _http_probe(f"http://{self.ctx.host}:{self.ctx.settings.kwok_port}/healthz")
        if not ok:
            return Health(False, detail)
        try:
            ready = ready_nodes(self.ctx)
        except Exception as exc:
            return Health(False, f"cannot list nodes: {exc}")
        if len(ready) < len(KWOK_NODES):
            return Health(False, f"{len(ready)}/{len(KWOK_NODES)} fake nodes Ready")
        return Health(True, f"{len(ready)} fake nodes Ready", versions.KWOK)


def write_admin_kubeconfig(ctx: StackContext) -> Path:
    """Write the admin kubeconfig to ``<state>/kubeconfig``; also to ~/.kube/config if unused."""
    text = ctx.pki.kubeconfig(ctx.apiserver_url, "admin")
    ctx.paths.kubeconfig.write_text(text)
    ctx.paths.kubeconfig.chmod(0o600)
    user_config = Path(os.environ.get("HOME", "~")).expanduser() / ".kube" / "config"
    if not user_config.exists() or '"taas-local"' in user_config.read_text():
        user_config.parent.mkdir(parents=True, exist_ok=True)
        user_config.write_text(text)
        user_config.chmod(0o600)
    return ctx.paths.kubeconfig


COMPONENT_TYPES: Sequence[type[Component]] = (
    Postgres,
    Keycloak,
    Redis,
    Minio,
    Etcd,
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    Kwok,
)


def component_names() -> list[str]:
    return [kind.name for kind in COMPONENT_TYPES]


def require_known(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in component_names()]
    if unknown:
        raise ConfigurationError(
            f"unknown component(s): {', '.join(unknown)}",
            hint=f"choose from: {', '.join(component_names())}",
        )
