"""``taas audit``: read and verify the hash-chained audit trail."""

from __future__ import annotations

import typer
from rich.console import Console

from taas.cli.errors import friendly_errors
from taas.cli.session import ApiClient

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
console = Console(highlight=False)


@app.command()
@friendly_errors
def verify() -> None:
    """Recompute the hash chain and compare it with its signed checkpoints; exit 1 if any
    event was altered or removed, or the chain was rewritten or truncated."""
    report = ApiClient().request("GET", "/v1/audit/verify")
    if report["ok"]:
        console.print(f"[green]✓[/] audit chain intact ({report['events']} events)")
        if report.get("anchored") and report["checkpoints"]:
            console.print(
                f"[green]✓[/] matches its {report['checkpoints']} checkpoints "
                f"(the newest vouches for event {report['anchored_seq']})"
            )
        elif report.get("anchored"):
            console.print("[yellow]![/] no checkpoint written yet (the worker writes them)")
        else:
            console.print(
                "[yellow]![/] not anchored: no TAAS_AUDIT_CHECKPOINT_KEY, so whoever can "
                "write the database could rewrite the chain undetected"
            )
        return
    for problem in report["problems"]:
        console.print(f"[red]✗[/] {problem}")
    raise typer.Exit(code=1)


@app.command()
@friendly_errors
def tail(tenant: str | None = None, limit: int = 20) -> None:
    """The newest audit events (of one tenant with --tenant)."""
    path = f"/v1/tenants/{tenant}/audit" if tenant else "/v1/audit"
    client = ApiClient()
    events, after = [], 0
    while True:
        page = client.request("GET", path, params={"after": after, "limit": 500})
        events += page["items"]
        if not page["next_after"]:
            break
        after = page["next_after"]
    for event in events[-limit:]:
        console.print(
            f"{event['seq']:>6} {event['occurred_at'][:19]} {event['actor']:<28} "
            f"{event['action']:<32} {event['outcome']}"
        )
