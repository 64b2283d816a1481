"""``taas vendors``, ``taas plugins``, ``taas catalog`` and ``taas subscriptions``."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from taas.cli.errors import friendly_errors
from taas.cli.session import VENDOR_REALM_LABEL, ApiClient, selected_profile, store_token
from taas.cli.tenants import follow, show_pending
from taas.kit.errors import TaasError, Unauthorized

console = Console(highlight=False)
vendors = typer.Typer(help="Plugin vendors (operators register them).", no_args_is_help=True)
plugins = typer.Typer(
    help="Submit, review, publish and revoke plugin versions.", no_args_is_help=True
)
subscriptions = typer.Typer(help="A tenant's modules.", no_args_is_help=True)
SETTLED = {"validated", "invalid"}

Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the operation to its end.")]


def _table(columns: list[str], rows: list[list[Any]]) -> None:
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[str(value) if value is not None else "-" for value in row])
    console.print(table)


# ---------------------------------------------------------------------- vendors


@vendors.command("create")
@friendly_errors
def create_vendor(
    slug: Annotated[str, typer.Argument(help="Short unique vendor name.")],
    email: Annotated[str, typer.Option(help="Contact e-mail.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
) -> None:
    """Register a vendor; prints its client credentials and signing secret (once: keep them)."""
    created = ApiClient().request(
        "POST",
        "/v1/vendors",
        json={"slug": slug, "display_name": name or slug, "contact_email": email},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    console.print(f"vendor [bold]{slug}[/] registered")
    console.print_json(data=created["credentials"])


@vendors.command("list")
@friendly_errors
def list_vendors() -> None:
    rows = ApiClient().request("GET", "/v1/vendors")
    _table(
        ["slug", "name", "contact", "client", "status"],
        [
            [v["slug"], v["display_name"], v["contact_email"], v["client_id"], v["status"]]
            for v in rows
        ],
    )


@vendors.command("disable")
@friendly_errors
def disable_vendor(
    vendor: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "by operator",
) -> None:
    """Stop a vendor: no new tokens, its calls refused; its versions keep serving banks."""
    row = ApiClient().request("POST", f"/v1/vendors/{vendor}/disable", json={"reason": reason})
    console.print(f"vendor [bold]{vendor}[/] is {row['status']}")


@vendors.command("enable")
@friendly_errors
def enable_vendor(
    vendor: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "by operator",
) -> None:
    """Let a disabled vendor log in and submit again."""
    row = ApiClient().request("POST", f"/v1/vendors/{vendor}/enable", json={"reason": reason})
    console.print(f"vendor [bold]{vendor}[/] is {row['status']}")


@vendors.command("delete")
@friendly_errors
def delete_vendor(
    vendor: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "by operator",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Ask for a vendor no bank subscribes to to be deleted for good (its client goes, its
    versions end); it happens when a second operator approves (taas approvals approve).
    To stop the vendor at once meanwhile: taas vendors disable."""
    if not yes:
        typer.confirm(
            f"ask for vendor {vendor} to be deleted for good (its client and every version "
            "of its plugins)?",
            abort=True,
        )
    approval = ApiClient().request(
        "DELETE",
        f"/v1/vendors/{vendor}",
        params={"reason": reason},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    if approval is None:
        console.print(f"vendor {vendor} is already deleted")
        return
    show_pending(approval)


@vendors.command("login")
@friendly_errors
def vendor_login(
    client_id: Annotated[str, typer.Argument(help="vendor-<slug>")],
    client_secret: Annotated[
        str, typer.Option(envvar="TAAS_VENDOR_SECRET", prompt=True, hide_input=True)
    ],
    token_url: Annotated[str, typer.Option(help="From the vendor's credentials.")],
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Keep the login as this profile (default: the client id)."),
    ] = None,
) -> None:
    """Log in as a vendor (client credentials) and keep the login as a profile.

    The profile is named after the client unless --profile names it, and becomes the
    current one."""
    response = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=15,
    )
    if response.status_code != 200:
        raise Unauthorized(
            f"vendor login failed: {response.text[:200]}", hint="check the client id and secret"
        )
    token = {**response.json(), "token_url": token_url}
    stored = store_token(
        token, username=client_id, realm=VENDOR_REALM_LABEL, profile=profile or selected_profile()
    )
    console.print(
        f"[green]✓[/] logged in as {client_id}; profile [bold]{stored['profile']}[/] is current"
    )


@vendors.command("usage")
@friendly_errors
def vendor_usage(
    vendor: str,
    start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
) -> None:
    """Calls to the vendor's modules per day (no bank identities)."""
    params = {k: v for k, v in {"start": start, "end": end}.items() if v}
    report = ApiClient().request("GET", f"/v1/vendors/{vendor}/usage", params=params)
    usage_table(report, with_tenants=True)


def usage_table(report: dict[str, Any], *, with_tenants: bool = False) -> None:
    columns = ["day", "module", "version", "billable", "errors", "refused"]
    columns += ["avg ms", "max ms", "in B", "out B"]
    rows = []
    for r in report["rows"]:
        row = [r["day"], r["module"], r["version"], r["calls"], r["errors"], r["refusals"]]
        row += [r["latency_ms_avg"], r["latency_ms_max"], r["bytes_in"], r["bytes_out"]]
        rows.append([*row, r["tenants"]] if with_tenants else row)
    _table([*columns, "tenants"] if with_tenants else columns, rows)


# ---------------------------------------------------------------------- plugins


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


@plugins.command("submit")
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


@plugins.command("status")
@friendly_errors
def status(name: str, version: str) -> None:
    """A version's status and validation report."""
    show_report(ApiClient().request("GET", f"/v1/plugins/{name}/versions/{version}"))


@plugins.command("list")
@friendly_errors
def list_plugins(name: Annotated[str | None, typer.Option()] = None) -> None:
    rows = ApiClient().request("GET", "/v1/plugins", params={"name": name} if name else {})
    _table(
        ["name", "version", "vendor", "capability", "status", "reason"],
        [
            [r["name"], r["version"], r["vendor"], r["capability"], r["status"], r["status_reason"]]
            for r in rows
        ],
    )


@plugins.command("approve")
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


@plugins.command("reject")
@friendly_errors
def reject(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """Reject a validated version, saying why."""
    _verb("reject", name, version, reason)


@plugins.command("deprecate")
@friendly_errors
def deprecate(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """Keep serving a version but stop new subscriptions to it."""
    _verb("deprecate", name, version, reason)


@plugins.command("suspend")
@friendly_errors
def suspend(name: str, version: str, reason: Annotated[str, typer.Option()]) -> None:
    """The reversible kill switch: gateways answer 503 for this version until it is resumed."""
    _verb("suspend", name, version, reason)


@plugins.command("resume")
@friendly_errors
def resume(name: str, version: str, reason: Annotated[str, typer.Option()] = "resumed") -> None:
    """Serve a suspended version again (operators)."""
    _verb("resume", name, version, reason)


@plugins.command("revoke")
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


# ---------------------------------------------------------------------- catalog


@friendly_errors
def catalog(capability: Annotated[str | None, typer.Option()] = None) -> None:
    """Modules banks can subscribe to."""
    modules = ApiClient().request(
        "GET", "/v1/catalog", params={"capability": capability} if capability else {}
    )
    _table(
        ["module", "capability", "vendor", "stable", "versions", "summary"],
        [
            [
                m["name"],
                m["capability"],
                m["vendor"],
                m["channels"].get("stable"),
                ", ".join(f"{v['version']} ({v['status']})" for v in m["versions"]),
                m["summary"],
            ]
            for m in modules
        ],
    )


# ---------------------------------------------------------------------- subscriptions


def _follow(client: ApiClient, tenant: str, accepted: dict[str, Any], wait: bool) -> None:
    sub, operation = accepted["subscription"], accepted.get("operation")
    console.print(f"{sub['module']} {sub['version']} for {tenant}: {sub['status']}")
    if operation is not None and wait:
        follow(client, sub["tenant_id"], operation["id"])


@subscriptions.command("add")
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
    client = ApiClient()
    accepted = client.request(
        "POST",
        f"/v1/tenants/{tenant}/subscriptions",
        json={k: v for k, v in body.items() if v is not None},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    _follow(client, tenant, accepted, wait)


@subscriptions.command("list")
@friendly_errors
def list_subscriptions(tenant: str) -> None:
    rows = ApiClient().request("GET", f"/v1/tenants/{tenant}/subscriptions")
    _table(
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


@subscriptions.command("change")
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
    client = ApiClient()
    accepted = client.request(
        "PATCH",
        f"/v1/tenants/{tenant}/subscriptions/{module}",
        json={k: v for k, v in body.items() if v is not None},
    )
    _follow(client, tenant, accepted, wait)


@subscriptions.command("remove")
@friendly_errors
def remove(tenant: str, module: str, wait: Wait = True) -> None:
    """Unsubscribe: the gateways stop routing at once; the workload is then removed."""
    client = ApiClient()
    _follow(
        client,
        tenant,
        client.request("DELETE", f"/v1/tenants/{tenant}/subscriptions/{module}"),
        wait,
    )


@subscriptions.command("usage")
@friendly_errors
def usage(
    tenant: str,
    start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
) -> None:
    """Calls the tenant made through the gateway, per day and module."""
    params = {k: v for k, v in {"start": start, "end": end}.items() if v}
    usage_table(ApiClient().request("GET", f"/v1/tenants/{tenant}/usage", params=params))
