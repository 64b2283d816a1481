"""Step log for long work: what is happening, for how long, and where its log is."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from taas.kit.errors import TaasError

_HEARTBEAT_S = 30.0


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 2048))
            lines = handle.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:100] if lines else ""


class StepLog:
    """Prints one line per step, with a live spinner on a terminal and heartbeats elsewhere."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)

    def info(self, message: str) -> None:
        self.console.print(message)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        self.console.print(f"[bold]→[/] {title}")
        try:
            yield
        except BaseException:
            self.console.print(
                f"[red]✗[/] {title} (failed after {_elapsed(time.monotonic() - started)})"
            )
            raise
        self.console.print(f"[green]✓[/] {title} ({_elapsed(time.monotonic() - started)})")

    def run(
        self,
        title: str,
        argv: Sequence[str],
        *,
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        hint: str | None = None,
    ) -> None:
        """Run a long command with its output in ``log``, showing elapsed time while it runs."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with self.step(title), log.open("ab") as out:
            out.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                list(argv), stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env
            )
            self._watch(process, title, log)
            if process.returncode != 0:
                raise TaasError(
                    f"{title} failed (exit {process.returncode}); last output: {_last_line(log)}",
                    hint=hint or f"read the full log: {log}",
                )

    def _watch(self, process: subprocess.Popen[bytes], title: str, log: Path) -> None:
        started = time.monotonic()
        if self.console.is_terminal:
            with self.console.status(title) as status:
                while process.poll() is None:
                    elapsed = _elapsed(time.monotonic() - started)
                    status.update(f"{title} [dim]{elapsed} · {_last_line(log)}[/]")
                    time.sleep(0.5)
            return
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(_HEARTBEAT_S):
                self.console.print(f"  … {title}: {_elapsed(time.monotonic() - started)}")

        thread = threading.Thread(target=heartbeat, daemon=True)
        thread.start()
        try:
            process.wait()
        finally:
            stop.set()
            thread.join()
