"""The contract every server of the local stack fulfils, and the shared parts of those
run as our own child processes."""

from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from taas.localstack.context import StackContext
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


class BuiltComponent(ProcessComponent):
    """A server whose binary we build into the cache, ``<cache>/<build>-<version>/<binary>``."""

    binary_name: ClassVar[str]

    @property
    def build_name(self) -> str:
        """The cache folder's name: one build can hold several binaries (Kubernetes)."""
        return self.name

    @property
    def binary(self) -> Path:
        return self.ctx.paths.bin_dir(self.build_name, self.version) / self.binary_name

    def installed(self) -> bool:
        return self.binary.exists()

    def binary_version(self) -> str | None:
        """The first line ``<binary> --version`` prints; None when it does not run."""
        try:
            out = subprocess.run(
                [str(self.binary), "--version"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else None


def http_probe(
    url: str, *, expect: str | None = None, **client_args: Any
) -> tuple[bool, str, httpx.Response | None]:
    """GET ``url`` once: (ok, what was seen, the response if there was one)."""
    try:
        with httpx.Client(timeout=PROBE_TIMEOUT_S, **client_args) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return False, f"{url}: {type(exc).__name__}", None
    if response.status_code != 200 or (expect is not None and expect not in response.text):
        return False, f"{url}: HTTP {response.status_code} {response.text[:80]}", response
    return True, "ready", response
