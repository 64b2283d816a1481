"""``taas approvals``: maker-checker requests that wait for a second operator."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from taas.cli.errors import friendly_errors
from taas.cli.session import ApiClient
from taas.cli.tenants import follow

app = typer.Typer(
    help="Requests for destructive actions (offboard with short retention, revoke, delete "
    "a vendor) that a second operator approves.",
    no_args_is_help=True,
)
console = Console(highlight=False)
Reason = Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")]


@app.command("list")
@friendly_errors
def list_approvals(
    status: Annotated[
        str | None,
        typer.Option(help="pending, approved, rejected, expired or cancelled (default: all)."),
    ] = "pending",
    limit: int = 50,
) -> None:
    """Approval requests, newest first (pending ones by default)."""
    params: dict[str, Any] = {"limit": limit}
    if status and status != "all":
        params["status"] = status
    rows = ApiClient().request("GET", "/v1/approvals", params=params)
    table = Table()
    for column in ["id", "status", "action", "what", "requested by", "expires", "decided by"]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            row["status"],
            row["action"],
            row["summary"],
            row["requested_by"],
            row["expires_at"][:19],
            row["decided_by"] or "-",
        )
    console.print(table)


@app.command("show")
@friendly_errors
def show(approval_id: str) -> None:
    """One request, with what approving it did."""
    console.print_json(data=ApiClient().request("GET", f"/v1/approvals/{approval_id}"))


@app.command("approve")
@friendly_errors
def approve(
    approval_id: str,
    reason: Reason = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the operation.")] = True,
) -> None:
    """Approve another operator's request: the action runs now, as you."""
    client = ApiClient()
    decided = client.request(
        "POST",
        f"/v1/approvals/{approval_id}/approve",
        json={"reason": reason or "approved"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    console.print(f"[green]✓[/] approved: {decided['summary']}")
    result = decided.get("result") or {}
    operation, tenant = result.get("operation"), result.get("tenant")
    if operation and tenant:
        console.print(f"operation {operation['kind']} {operation['id']} {operation['status']}")
        if wait:
            follow(client, tenant["id"], operation["id"])
    if "plugin_version" in result:
        version = result["plugin_version"]
        console.print(
            f"{version['name']} {version['version']} is {version['status']}; "
            f"{result.get('moved_subscriptions', 0)} subscription(s) on the stable channel moving"
        )
    if "vendor" in result:
        ended = ", ".join(result.get("versions_ended") or []) or "none"
        console.print(
            f"vendor {result['vendor']['slug']} is {result['vendor']['status']}; "
            f"versions ended: {ended}"
        )


@app.command("reject")
@friendly_errors
def reject(approval_id: str, reason: Reason = None) -> None:
    """Refuse another operator's request: nothing runs."""
    decided = ApiClient().request(
        "POST", f"/v1/approvals/{approval_id}/reject", json={"reason": reason or "rejected"}
    )
    console.print(f"request {decided['id']} is {decided['status']}")


@app.command("cancel")
@friendly_errors
def cancel(approval_id: str, reason: Reason = None) -> None:
    """Withdraw your own pending request."""
    decided = ApiClient().request(
        "POST",
        f"/v1/approvals/{approval_id}/cancel",
        json={"reason": reason or "cancelled by the requester"},
    )
    console.print(f"request {decided['id']} is {decided['status']}")
