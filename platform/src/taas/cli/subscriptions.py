"""``taas subscriptions``: a tenant's modules, their versions, limits and usage."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from taas.cli.errors import friendly_errors
from taas.cli.output import Day, console, period, print_table, usage_table
from taas.cli.session import ApiClient
from taas.cli.tenants import follow

app = typer.Typer(help="A tenant's modules.", no_args_is_help=True)

Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the operation to its end.")]


def _send(tenant: str, wait: bool, method: str, path: str, **kwargs: Any) -> None:
    """Send a change of the tenant's subscriptions, then report it and follow its operation."""
    client = ApiClient()
    accepted = client.request(method, f"/v1/tenants/{tenant}/subscriptions{path}", **kwargs)
    sub, operation = accepted["subscription"], accepted.get("operation")
    console.print(f"{sub['module']} {sub['version']} for {tenant}: {sub['status']}")
    if operation is not None and wait:
        follow(client, sub["tenant_id"], operation["id"])


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields the command was given a value for: the API keeps (or defaults) the rest."""
    return {name: value for name, value in fields.items() if value is not None}


@app.command("add")
@friendly_errors
def add(
    tenant: str,
    module: str,
    version: Annotated[str | None, typer.Option(help="Pin a version (default: stable).")] = None,
    rps: Annotated[int | None, typer.Option(help="Calls per second.")] = None,
    monthly_quota: Annotated[int | None, typer.Option(help="Calls per month.")] = None,
    wait: Wait = True,
) -> None:
    """Subscribe a tenant to a module."""
    body = {
        "module": module,
        "version": version,
        "rate_limit_rps": rps,
        "monthly_quota": monthly_quota,
    }
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    _send(tenant, wait, "POST", "", json=_given(body), headers=headers)


@app.command("list")
@friendly_errors
def list_subscriptions(tenant: str) -> None:
    rows = ApiClient().request("GET", f"/v1/tenants/{tenant}/subscriptions")
    print_table(
        ["module", "version", "channel", "status", "rps", "monthly quota", "scopes", "path"],
        [
            [
                r["module"],
                r["version"],
                r["channel"] or "pinned",
                r["status"],
                r["rate_limit_rps"],
                r["monthly_quota"],
                " ".join(r["scopes"]),
                r["gateway_path"],
            ]
            for r in rows
        ],
    )


@app.command("change")
@friendly_errors
def change(
    tenant: str,
    module: str,
    version: Annotated[str | None, typer.Option()] = None,
    stable: Annotated[bool, typer.Option("--stable", help="Follow the stable channel.")] = False,
    rps: Annotated[int | None, typer.Option()] = None,
    monthly_quota: Annotated[int | None, typer.Option()] = None,
    wait: Wait = True,
) -> None:
    """Change the version (or channel) or limits of a subscription."""
    body = {
        "version": version,
        "channel": "stable" if stable else None,
        "rate_limit_rps": rps,
        "monthly_quota": monthly_quota,
    }
    _send(tenant, wait, "PATCH", f"/{module}", json=_given(body))


@app.command("remove")
@friendly_errors
def remove(tenant: str, module: str, wait: Wait = True) -> None:
    """Unsubscribe: the gateways stop routing at once; the workload is then removed."""
    _send(tenant, wait, "DELETE", f"/{module}")


@app.command("usage")
@friendly_errors
def usage(
    tenant: str,
    start: Day = None,
    end: Day = None,
) -> None:
    """Calls the tenant made through the gateway, per day and module."""
    usage_table(
        ApiClient().request("GET", f"/v1/tenants/{tenant}/usage", params=period(start, end))
    )
