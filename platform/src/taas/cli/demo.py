"""``taas demo``: the main job, end to end on the local stack."""

from __future__ import annotations

import time

from rich.console import Console

from taas.cli.errors import friendly_errors
from taas.kit.settings import StackSettings
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack

console = Console(highlight=False)


@friendly_errors
def demo() -> None:
    """Bring the local stack up and show that every component is healthy."""
    started = time.monotonic()
    stack = LocalStack(StackContext(StackSettings()))
    console.rule("1. the local cloud in a box")
    stack.up([])
    rows = stack.status([])
    for row in rows:
        mark = "[green]✓[/]" if row.health.ok else "[red]✗[/]"
        console.print(
            f"{mark} {row.name:<24} {row.health.version or row.pinned_version:<34} "
            f"{row.health.detail}"
        )
    console.rule('endpoints (eval "$(taas stack env)" to use them)')
    for key, value in stack.env().items():
        shown = "****" if "PASSWORD" in key or "SECRET" in key else value
        if "DATABASE_URL" in key or "REDIS_URL" in key or "BROKER_URL" in key:
            shown = value.split("@")[-1]
        console.print(f"  {key}={shown}")
    healthy = sum(row.health.ok for row in rows)
    console.print(
        f"\n[bold]{healthy}/{len(rows)} components healthy[/] ({time.monotonic() - started:.1f}s)"
    )
