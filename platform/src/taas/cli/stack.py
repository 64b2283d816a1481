"""``taas stack``: the local cloud in a box."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taas.cli.errors import friendly_errors
from taas.kit.errors import ConfigurationError
from taas.kit.settings import StackSettings
from taas.localstack.components import component_names
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack

app = typer.Typer(help="Install, start, check and stop the local stack.", no_args_is_help=True)
console = Console(highlight=False)

Names = Annotated[
    list[str] | None,
    typer.Argument(help=f"Components (default: all): {', '.join(component_names())}"),
]


def _stack() -> LocalStack:
    return LocalStack(StackContext(StackSettings()))


@app.command()
@friendly_errors
def install(names: Names = None) -> None:
    """Install or build every component (cached; skipped when already present)."""
    _stack().install(names or [])


@app.command()
@friendly_errors
def up(names: Names = None) -> None:
    """Start the components (installing what is missing) and wait until all are healthy."""
    started = time.monotonic()
    stack = _stack()
    stack.up(names or [])
    console.print(f"[green]stack healthy[/] in {time.monotonic() - started:.1f}s")
    _print_status(stack, names or [])


@app.command()
@friendly_errors
def down(names: Names = None) -> None:
    """Stop what `up` started (and nothing else)."""
    _stack().down(names or [])


@app.command()
@friendly_errors
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop the stack and delete its data, logs, certificates and secrets (not the cache)."""
    if not yes and not typer.confirm("Delete all local stack data?"):
        raise typer.Exit(code=1)
    _stack().reset()


@app.command()
@friendly_errors
def status(
    names: Names = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Health, version, ports and log file of each component. Exit 1 if any is unhealthy."""
    stack = _stack()
    rows = stack.status(names or [])
    if as_json:
        console.print_json(json.dumps([asdict(row) for row in rows]))
    else:
        _print_status(stack, names or [])
    if not all(row.health.ok for row in rows):
        raise typer.Exit(code=1)


def _print_status(stack: LocalStack, names: list[str]) -> None:
    table = Table(title="TaaS local stack")
    for column in ("component", "state", "version", "ports", "detail"):
        table.add_column(column)
    for row in stack.status(names):
        state = (
            "[green]healthy[/]"
            if row.health.ok
            else ("[red]unhealthy[/]" if row.running else "[dim]stopped[/]")
        )
        table.add_row(
            row.name,
            state,
            row.health.version or row.pinned_version,
            ", ".join(str(port) for port in row.ports),
            row.health.detail,
        )
    console.print(table)


@app.command()
@friendly_errors
def env() -> None:
    """Print endpoints and credentials as shell exports: eval "$(taas stack env)"."""
    for key, value in _stack().env().items():
        typer.echo(f"export {key}={shlex.quote(value)}")


@app.command()
@friendly_errors
def logs(
    name: Annotated[str, typer.Argument(help="Component whose log to show.")],
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many lines.")] = 50,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing.")] = False,
) -> None:
    """Show the end of a component's log."""
    path = Path(_stack().log_of(name))
    if not path.exists():
        raise ConfigurationError(f"{name} has no log yet at {path}", hint="run `taas stack up`")
    with path.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 200 * max(lines, 1)))
        tail = handle.read().decode(errors="replace").splitlines()[-lines:]
        typer.echo("\n".join(tail))
        while follow:
            chunk = handle.read().decode(errors="replace")
            if chunk:
                typer.echo(chunk, nl=False)
            else:
                time.sleep(0.5)
