"""The local stack as a whole: install, up, down, status and env over all components."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from taas.kit.errors import TaasError
from taas.kit.settings import LOCAL_STACK_MARKER
from taas.localstack import install, network
from taas.localstack.components import (
    COMPONENT_TYPES,
    Component,
    Health,
    Keycloak,
    Minio,
    Postgres,
    Redis,
    require_known,
)
from taas.localstack.components.node import REAL_NODE_TAINT, node_name
from taas.localstack.context import StackContext

_POLL_S = 0.25
# Name of the control plane's own MinIO user and Keycloak service-account client.
CONTROL_PLANE_ACCOUNT = "taas-control-plane"


def _derived(root_secret: str, purpose: str) -> str:
    """A secret derived from a root secret, so the stack stores nothing more."""
    message = b"taas control plane " + purpose.encode()  # bytes: a key label, not a message
    return hmac.new(root_secret.encode(), message, hashlib.sha256).hexdigest()


_LOG_TAIL_LINES = 15


@dataclass(frozen=True)
class ComponentStatus:
    """What ``taas stack status`` shows for one component."""

    name: str
    running: bool
    health: Health
    pinned_version: str
    ports: list[int]
    log: str


class StartFailureError(TaasError):
    """A component did not become healthy."""


def _tail(path_text: str, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with Path(path_text).open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log yet)"
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


class LocalStack:
    """All components of the local stack, in start order."""

    def __init__(self, ctx: StackContext) -> None:
        self.ctx = ctx
        self.postgres = Postgres(ctx)
        self.keycloak = Keycloak(ctx)
        self.redis = Redis(ctx)
        self.minio = Minio(ctx)
        self.components: dict[str, Component] = {
            self.postgres.name: self.postgres,
            self.keycloak.name: self.keycloak,
            self.redis.name: self.redis,
            self.minio.name: self.minio,
        }
        for kind in COMPONENT_TYPES:
            self.components.setdefault(kind.name, kind(ctx))

    # ------------------------------------------------------------------ selection

    def select(
        self, names: Sequence[str] = (), *, with_requirements: bool = True
    ) -> list[Component]:
        """The named components (all if none) plus what they require, in start order."""
        require_known(names)
        wanted = set(names or self.components)
        if with_requirements:
            pending = list(wanted)
            while pending:
                for requirement in self.components[pending.pop()].requires:
                    if requirement not in wanted:
                        wanted.add(requirement)
                        pending.append(requirement)
        return [component for name, component in self.components.items() if name in wanted]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.ctx.paths.ensure_writable()
        with (self.ctx.paths.run / "stack.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.ctx.log.info("waiting for another `taas stack` command to finish …")
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # ------------------------------------------------------------------ commands

    def install(self, names: Sequence[str] = ()) -> None:
        """Install every selected component that is not installed yet."""
        with self._locked():
            self._install(self.select(names))

    def _install(self, components: Sequence[Component]) -> None:
        # Not servers, so not components: OS packages the OCR module and its tests need.
        install.ensure_apt(
            self.ctx.log, self.ctx.paths, ["tesseract", "tesseract-chi-sim", "fonts-noto-cjk"]
        )
        for component in components:
            if component.installed():
                continue
            component.install()
        self.ctx.log.info("[green]all selected components are installed[/]")

    def up(self, names: Sequence[str] = ()) -> None:
        """Start the selected components (and what they need) and wait until all are healthy.

        Servers start as soon as what they require is ready, so slow starters (Keycloak)
        boot while the others come up. Starting what already runs is a no-op.
        """
        with self._locked():
            selected = self.select(names)
            self._install(selected)
            ready: set[str] = set()
            for component in selected:
                for requirement in component.requires:
                    self._make_ready(self.components[requirement], ready)
                if component.is_running():
                    self.ctx.log.info(f"[dim]·[/] {component.name} already running")
                else:
                    self.ctx.log.info(f"[bold]→[/] starting {component.name}")
                    component.start()
            for component in selected:
                self._make_ready(component, ready)

    def _make_ready(self, component: Component, ready: set[str]) -> None:
        if component.name in ready:
            return
        started = time.monotonic()
        self._wait(component, component.answers, "to answer")
        component.after_start()
        self._wait(component, lambda: component.probe().ok, "to become healthy")
        ready.add(component.name)
        self.ctx.log.info(
            f"[green]✓[/] {component.name} healthy ({time.monotonic() - started:.1f}s)"
        )

    def _wait(self, component: Component, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.ctx.settings.start_timeout_s
        while True:
            if condition():
                return
            if not component.is_running():
                raise StartFailureError(
                    f"{component.name} exited while starting; its log "
                    f"({component.log_path}) ends with:\n{_tail(str(component.log_path))}",
                    hint=component.fix_hint,
                )
            if time.monotonic() > deadline:
                raise StartFailureError(
                    f"{component.name} did not {what.removeprefix('to ')} within "
                    f"{self.ctx.settings.start_timeout_s:.0f}s ({component.probe().detail}); "
                    f"its log ({component.log_path}) ends with:\n{_tail(str(component.log_path))}",
                    hint=f"{component.fix_hint}; or raise TAAS_START_TIMEOUT_S",
                )
            time.sleep(_POLL_S)

    def down(self, names: Sequence[str] = ()) -> list[str]:
        """Stop the selected components (all if none), in reverse start order."""
        stopped = []
        with self._locked():
            for component in reversed(self.select(names, with_requirements=False)):
                if component.stop():
                    self.ctx.log.info(f"[green]✓[/] stopped {component.name}")
                    stopped.append(component.name)
                else:
                    self.ctx.log.info(f"[dim]·[/] {component.name} was not running")
        return stopped

    def reset(self) -> None:
        """Stop everything and delete all running state; the build cache stays."""
        self.down()
        with self._locked():
            if self.postgres.drop():
                self.ctx.log.info(f"[green]✓[/] dropped PostgreSQL cluster {self.postgres.cluster}")
            for child in self.ctx.paths.state.iterdir():
                if child == self.ctx.paths.run:
                    continue
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        self.ctx.log.info(f"[green]✓[/] deleted the state in {self.ctx.paths.state}")

    def status(self, names: Sequence[str] = ()) -> list[ComponentStatus]:
        """Health, version, ports and log of each selected component."""
        rows = []
        for component in self.select(names, with_requirements=False):
            running = component.is_running()
            health = component.probe() if running else Health(False, "stopped")
            rows.append(
                ComponentStatus(
                    name=component.name,
                    running=running,
                    health=health,
                    pinned_version=component.version,
                    ports=[port.number for port in component.ports()],
                    log=str(component.log_path),
                )
            )
        return rows

    def env(self) -> dict[str, str]:
        """Endpoints and credentials of the stack, as environment variables."""
        postgres, redis, minio, keycloak = self.postgres, self.redis, self.minio, self.keycloak
        secrets, settings = self.ctx.secrets, self.ctx.settings
        return {
            "TAAS_DATABASE_URL": postgres.dsn(),
            "TAAS_REDIS_URL": redis.url(0),
            "TAAS_CELERY_BROKER_URL": redis.url(1),
            "TAAS_MINIO_ENDPOINT": minio.endpoint,
            # The control plane's own least-privilege identities (made by `taas platform
            # init`); the root credentials below are for that bootstrap only.
            "TAAS_MINIO_ACCESS_KEY": CONTROL_PLANE_ACCOUNT,
            "TAAS_MINIO_SECRET_KEY": _derived(secrets.minio_root_password, "minio"),
            "TAAS_MINIO_ROOT_USER": secrets.minio_root_user,
            "TAAS_MINIO_ROOT_PASSWORD": secrets.minio_root_password,
            "TAAS_KEYCLOAK_URL": keycloak.url,
            "TAAS_KEYCLOAK_CLIENT_ID": CONTROL_PLANE_ACCOUNT,
            "TAAS_KEYCLOAK_CLIENT_SECRET": _derived(secrets.keycloak_admin_password, "keycloak"),
            "TAAS_KEYCLOAK_ADMIN_USER": secrets.keycloak_admin_user,
            "TAAS_KEYCLOAK_ADMIN_PASSWORD": secrets.keycloak_admin_password,
            LOCAL_STACK_MARKER: "1",
            "TAAS_KUBE_API_URL": self.ctx.apiserver_url,
            "KUBECONFIG": str(self.ctx.paths.kubeconfig),
            # Derived, so every process of this stack agrees without another stored secret.
            "TAAS_STORAGE_GRANT_SECRET": hmac.new(
                secrets.minio_root_password.encode(), b"taas storage grants", hashlib.sha256
            ).hexdigest(),
            # Signs the audit chain's checkpoints; like every secret here it lives outside
            # the database. Locally, checkpoints are kept a day (production: years).
            "TAAS_AUDIT_CHECKPOINT_KEY": hmac.new(
                secrets.minio_kms_key.encode(), b"taas audit checkpoints", hashlib.sha256
            ).hexdigest(),
            "TAAS_AUDIT_CHECKPOINT_RETENTION_DAYS": "1",
            # Module pods run on the real node (kwok's fake nodes only pretend to run them),
            # and the gateway, a host process here, finds their Services through the
            # cluster DNS.
            "TAAS_GATEWAY_CLUSTER_DNS": f"{network.GATEWAY}:53",
            "TAAS_CLUSTER_DNS_PEERS": json.dumps([{"ipBlock": {"cidr": f"{network.GATEWAY}/32"}}]),
            # ... and reach the API and MinIO through the node relay, nothing else.
            "TAAS_MODULE_PLATFORM_URL": f"http://{network.GATEWAY}:{settings.api_port}",
            "TAAS_MODULE_STORAGE_ENDPOINT": f"{network.GATEWAY}:{settings.minio_port}",
            "TAAS_MODULE_EGRESS": json.dumps(
                [
                    {
                        "to": [{"ipBlock": {"cidr": f"{network.GATEWAY}/32"}}],
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                            {"protocol": "TCP", "port": settings.api_port},
                            {"protocol": "TCP", "port": settings.minio_port},
                        ],
                    }
                ]
            ),
            "TAAS_MODULE_NODE_SELECTOR": json.dumps({"kubernetes.io/hostname": node_name()}),
            "TAAS_MODULE_TOLERATIONS": json.dumps([{**REAL_NODE_TAINT, "operator": "Equal"}]),
        }

    def log_of(self, name: str) -> str:
        require_known([name])
        return str(self.components[name].log_path)
