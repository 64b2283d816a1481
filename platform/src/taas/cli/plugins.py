"""``taas plugins``: submit, review, publish and revoke plugin versions."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from taas.cli.errors import friendly_errors
from taas.cli.output import console, print_table
from taas.cli.session import ApiClient
from taas.cli.tenants import show_pending
from taas.kit.errors import TaasError

app = typer.Typer(help="Submit, review, publish and revoke plugin versions.", no_args_is_help=True)
SETTLED = {"validated", "invalid"}


def wait_validated(client: ApiClient, name: str, version: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    with console.status(f"validating {name} {version}"):
        while True:
            row = client.request("GET", f"/v1/plugins/{name}/versions/{version}")
            if row["status"] in SETTLED:
                return row
            if time.monotonic() > deadline:
                raise TaasError(
                    "validation is still running", hint=f"taas plugins status {name} {version}"
                )
            time.sleep(0.5)


def show_report(row: dict[str, Any]) -> None:
    for check in row["validation"].get("checks", []):
        mark = "[green]✓[/]" if check["ok"] else "[red]✗[/]"
        console.print(f"  {mark} {escape(check['name'])}: {escape(check['detail'])}")
    if row["validation"].get("hint"):
        console.print(f"  next: {escape(row['validation']['hint'])}")
    colour = "green" if row["status"] in {"validated", "approved", "published"} else "yellow"
    console.print(f"{row['name']} {row['version']} is [{colour}]{row['status']}[/]")


@app.command("submit")
@friendly_errors
def submit(
    manifest: Annotated[Path, typer.Argument(help="The manifest (JSON).", exists=True)],
    vendor: Annotated[str, typer.Option(help="Your vendor slug.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for validation.")] = True,
) -> None:
    """Submit a plugin version; validation starts at once and its report is shown."""
    try:
        body = json.loads(manifest.read_text())
    except json.JSONDecodeError as exc:
        raise TaasError(f"{manifest} is not JSON: {exc}", hint="check the file") from exc
    client = ApiClient()
    row = client.request(
        "POST",
        f"/v1/vendors/{vendor}/plugins",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    console.print(f"submitted {row['name']} {row['version']}")
    if wait:
        show_report(wait_validated(client, row["name"], row["version"]))


@app.command("status")
@friendly_errors
def status(name: str, version: str) -> None:
    """A version's status and validation report."""
    show_report(ApiClient().request("GET", f"/v1/plugins/{name}/versions/{version}"))


@app.command("list")
@friendly_errors
def list_plugins(name: Annotated[str | None, typer.Option()] = None) -> None:
    rows = ApiClient().request("GET", "/v1/plugins", params={"name": name} if name else {})
    print_table(
        ["name", "version", "vendor", "capability", "status", "reason"],
        [
            [r["name"], r["version"], r["vendor"], r["capability"], r["status"], r["status_reason"]]
            for r in rows
        ],
    )


@app.command("approve")
@friendly_errors
def approve(
    name: str,
    version: str,
    reason: Annotated[str, typer.Option(help="Why it is approved.")] = "reviewed",
    publish: Annotated[bool, typer.Option("--publish/--no-publish")] = True,
) -> None:
    """Approve (and publish) a validated version. Never your own submission."""
    row = ApiClient().request(
        "POST",
        f"/v1/plugins/{name}/versions/{version}/approve",
        json={"reason": reason, "publish": publish},
    )
    console.print(f"[green]✓[/] {name} {version} is {row['status']}")


def _verb(verb: str, name: str, version: str, reason: str) -> None:
    row = ApiClient().request(
        "POST", f"/v1/plugins/{name}/versions/{version}/{verb}", json={"reason": reason}
    )
    console.print(f"{name} {version} is {row['status']}")


@app.command("reject")
@friendly_errors
def reject(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """Reject a validated version, saying why."""
    _verb("reject", name, version, reason)


@app.command("deprecate")
@friendly_errors
def deprecate(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """Keep serving a version but stop new subscriptions to it."""
    _verb("deprecate", name, version, reason)


@app.command("suspend")
@friendly_errors
def suspend(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """The reversible kill switch: gateways answer 503 for this version until it is resumed."""
    _verb("suspend", name, version, reason)


@app.command("resume")
@friendly_errors
def resume(name: str, version: str, reason: Annotated[str, typer.Option()] = "resumed") -> None:
    """Serve a suspended version again (operators)."""
    _verb("resume", name, version, reason)


@app.command("revoke")
@friendly_errors
def revoke(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """Ask for a version to be revoked for good; it happens when a second operator approves
    (taas approvals approve). To stop calls at once meanwhile: taas plugins suspend."""
    approval = ApiClient().request(
        "POST",
        f"/v1/plugins/{name}/versions/{version}/revoke",
        json={"reason": reason},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    show_pending(approval)
