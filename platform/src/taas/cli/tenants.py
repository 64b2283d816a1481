"""``taas tenants``: the tenant lifecycle against the control-plane API."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from taas.cli.errors import friendly_errors
from taas.cli.session import ApiClient
from taas.kit.errors import TaasError

app = typer.Typer(help="Create and operate bank tenants.", no_args_is_help=True)
console = Console(highlight=False)
FINISHED = {"succeeded", "failed"}

Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the operation to its end.")]


def show_pending(approval: dict[str, Any]) -> None:
    """What a requester is told when an action waits for a second operator."""
    console.print(
        f"[yellow]⧗[/] {approval['summary']}\n"
        f"  request {approval['id']} waits for a second operator "
        f"(expires {approval['expires_at'][:19]}Z):\n"
        f"  taas approvals approve {approval['id']}   (another operator)\n"
        f"  taas approvals cancel {approval['id']}    (to withdraw it)"
    )


def _show_accepted(client: ApiClient, accepted: dict[str, Any], wait: bool) -> None:
    tenant, operation = accepted["tenant"], accepted.get("operation")
    console.print(f"tenant [bold]{tenant['slug']}[/] is {tenant['status']} ({tenant['id']})")
    if accepted.get("approval"):
        show_pending(accepted["approval"])
    if operation is None:
        return
    console.print(f"operation {operation['kind']} {operation['id']} {operation['status']}")
    if wait:
        follow(client, tenant["id"], operation["id"])


def follow(
    client: ApiClient, tenant_id: str, operation_id: str, timeout_s: float = 600
) -> dict[str, Any]:
    """Show each step as it progresses until the operation ends; return the last state."""
    shown: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    started = time.monotonic()
    with console.status("waiting for the operation") as status:
        while True:
            operations = client.request("GET", f"/v1/tenants/{tenant_id}/operations")
            operation = next(op for op in operations if op["id"] == operation_id)
            for step in operation["steps"]:
                state = f"{step['status']}:{step['attempts']}"
                if shown.get(step["name"]) != state and step["status"] != "pending":
                    shown[step["name"]] = state
                    mark = {"done": "[green]✓[/]", "failed": "[red]✗[/]", "undone": "[yellow]↺[/]"}
                    extra = f" (attempt {step['attempts']})" if step["attempts"] > 1 else ""
                    error = (
                        f" — {step['error']}" if step["error"] and step["status"] != "done" else ""
                    )
                    icon = mark.get(step["status"], "…")
                    console.print(f"  {icon} {step['name']} {step['status']}{extra}{error}")
            status.update(
                f"{operation['kind']}: {operation['status']} ({time.monotonic() - started:.0f}s)"
            )
            if operation["status"] in FINISHED:
                break
            if time.monotonic() > deadline:
                raise TaasError(
                    "the operation is still running", hint="follow it with: taas tenants ops"
                )
            time.sleep(0.5)
    if operation["status"] == "failed":
        raise TaasError(f"operation failed: {operation['error']}", hint="taas tenants ops <tenant>")
    console.print(f"[green]✓[/] {operation['kind']} succeeded in {time.monotonic() - started:.1f}s")
    return dict(operation)


@app.command()
@friendly_errors
def create(
    slug: Annotated[str, typer.Argument(help="Short DNS-safe name of the bank.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    tier: Annotated[str, typer.Option(help="pool, silo or dedicated.")] = "pool",
    region: Annotated[str, typer.Option(help="Jurisdiction / region label.")] = "cn-east-1",
    cpu: Annotated[str, typer.Option(help="CPU quota.")] = "2",
    memory: Annotated[str, typer.Option(help="Memory quota.")] = "4Gi",
    storage_gb: Annotated[int, typer.Option(help="Bucket quota in GiB.")] = 10,
    rps: Annotated[int, typer.Option(help="Gateway requests per second.")] = 50,
    idempotency_key: Annotated[str | None, typer.Option(help="Retry-safe key.")] = None,
    wait: Wait = True,
) -> None:
    """Create a tenant and (by default) follow its provisioning."""
    client = ApiClient()
    body = {
        "slug": slug,
        "display_name": name or slug,
        "tier": tier,
        "region": region,
        "quotas": {
            "cpu": cpu,
            "memory": memory,
            "storage_gb": storage_gb,
            "requests_per_second": rps,
        },
    }
    key = idempotency_key or str(uuid.uuid4())
    accepted = client.request("POST", "/v1/tenants", json=body, headers={"Idempotency-Key": key})
    _show_accepted(client, accepted, wait)


@app.command("list")
@friendly_errors
def list_tenants(
    status: Annotated[list[str] | None, typer.Option(help="Filter by status.")] = None,
    tier: Annotated[str | None, typer.Option(help="Filter by tier.")] = None,
    limit: Annotated[int, typer.Option(help="Page size.")] = 50,
) -> None:
    """List tenants (all pages)."""
    client = ApiClient()
    table = Table()
    for column in ("slug", "name", "tier", "region", "status", "created"):
        table.add_column(column)
    after = None
    while True:
        params: dict[str, Any] = {
            "limit": limit,
            "status": status or [],
            "tier": tier,
            "after": after,
        }
        page = client.request("GET", "/v1/tenants", params={k: v for k, v in params.items() if v})
        for tenant in page["items"]:
            table.add_row(
                tenant["slug"],
                tenant["display_name"],
                tenant["tier"],
                tenant["region"],
                tenant["status"],
                tenant["created_at"][:19],
            )
        after = page["next_cursor"]
        if not after:
            break
    console.print(table)


@app.command()
@friendly_errors
def show(tenant: Annotated[str, typer.Argument(help="Slug or id.")]) -> None:
    """Everything about one tenant."""
    console.print_json(data=ApiClient().request("GET", f"/v1/tenants/{tenant}"))


def _lifecycle(tenant: str, action: str, reason: str, wait: bool) -> None:
    client = ApiClient()
    accepted = client.request("POST", f"/v1/tenants/{tenant}/{action}", json={"reason": reason})
    _show_accepted(client, accepted, wait)


@app.command()
@friendly_errors
def suspend(tenant: str, reason: str = "requested by operator", wait: Wait = True) -> None:
    """Block logins, API clients and the gateway; scale workloads to zero."""
    _lifecycle(tenant, "suspend", reason, wait)


@app.command()
@friendly_errors
def resume(tenant: str, reason: str = "requested by operator", wait: Wait = True) -> None:
    """Undo a suspension."""
    _lifecycle(tenant, "resume", reason, wait)


@app.command()
@friendly_errors
def offboard(
    tenant: str,
    keep_days: Annotated[
        int, typer.Option(help="Days to keep data read-only (0: destroy now).")
    ] = 30,
    reason: str = "requested by operator",
    wait: Wait = True,
) -> None:
    """Remove the tenant; data is kept read-only for --keep-days, then purged.

    Keeping data fewer days than the platform's threshold (30 by default) needs a second
    operator: this records a request and prints the command that approves it."""
    client = ApiClient()
    body = {"reason": reason, "retention": {"keep_data_days": keep_days}}
    accepted = client.request(
        "POST",
        f"/v1/tenants/{tenant}/offboard",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    _show_accepted(client, accepted, wait)


@app.command()
@friendly_errors
def ops(tenant: str, limit: int = 10) -> None:
    """Operations of a tenant with their steps."""
    for operation in ApiClient().request(
        "GET", f"/v1/tenants/{tenant}/operations", params={"limit": limit}
    ):
        console.print(
            f"[bold]{operation['kind']}[/] {operation['status']} {operation['id']} "
            f"by {operation['requested_by']} at {operation['created_at'][:19]}"
        )
        if operation["error"]:
            console.print(f"  [red]{operation['error']}[/]")
        for step in operation["steps"]:
            console.print(
                f"  {step['status']:<8} {step['name']} (attempts {step['attempts']})"
                + (f" — {step['error']}" if step["error"] else "")
            )
