"""Start and stop the stack's own processes, tracked by pid files.

A pid file holds the pid and the process start time from ``/proc``, so a recycled pid
never makes us signal a stranger. Each server runs in its own session (process group) and
``stop`` signals only that group.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from taas.kit.errors import Conflict


def _start_time(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class PidFile:
    """The pid file of one managed process."""

    path: Path

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid} {_start_time(pid) or ''}\n")

    def running_pid(self) -> int | None:
        """The pid if the recorded process is still the one we started, else None."""
        try:
            fields = self.path.read_text().split()
        except OSError:
            return None
        if not fields or not fields[0].isdigit():
            return None
        pid = int(fields[0])
        recorded = fields[1] if len(fields) > 1 else None
        current = _start_time(pid)
        if current is None or (recorded is not None and recorded != current):
            return None
        if Path(f"/proc/{pid}/status").exists():
            status = Path(f"/proc/{pid}/status").read_text()
            if "\nState:\tZ" in status:
                return None
        return pid

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def port_owner(port: int) -> str | None:
    """Best effort description of who listens on ``port`` (via ``ss``), for error messages."""
    try:
        out = subprocess.run(
            ["ss", "-H", "-ltnp", f"sport = :{port}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else None


def ensure_port_free(host: str, port: int, what: str, setting: str) -> None:
    """Raise Conflict, naming the setting to change, if ``host:port`` is already bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            owner = port_owner(port)
            raise Conflict(
                f"port {port} on {host} ({what}) is taken by another process"
                + (f": {owner}" if owner else ""),
                hint=f"stop that process, or choose another port with {setting}=<port>",
            ) from exc


def spawn(
    argv: Sequence[str],
    *,
    pid_file: PidFile,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``argv`` detached in its own session, logging to ``log``; returns the pid.

    ``posix_spawn`` rather than ``Popen``: the server outlives this process, so there is
    no child object to keep; ``terminate`` reaps it if it is still our child.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {argv[0]}\n".encode())
    pid = os.posix_spawnp(
        argv[0],
        list(argv),
        {**os.environ, **(env or {})},
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    pid_file.write(pid)
    return pid


def terminate(pid_file: PidFile, *, grace_s: float = 20.0) -> bool:
    """Stop the process group recorded in ``pid_file``; True if something was running."""
    pid = pid_file.running_pid()
    if pid is None:
        pid_file.clear()
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if pid_file.running_pid() is None:
            break
        _reap(pid)
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.2)
        _reap(pid)
    pid_file.clear()
    return True


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
