"""``taas vendors``: plugin vendors, registered by operators; a vendor logs in here too."""

from __future__ import annotations

import uuid
from typing import Annotated

import httpx
import typer

from taas.cli.errors import friendly_errors
from taas.cli.output import Day, console, period, print_table, usage_table
from taas.cli.session import VENDOR_REALM_LABEL, ApiClient, selected_profile, store_token
from taas.cli.tenants import show_pending
from taas.kit.errors import Unauthorized

app = typer.Typer(help="Plugin vendors (operators register them).", no_args_is_help=True)

Reason = Annotated[str, typer.Option(help="Why (kept in the audit trail).")]


@app.command("create")
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


@app.command("list")
@friendly_errors
def list_vendors() -> None:
    rows = ApiClient().request("GET", "/v1/vendors")
    print_table(
        ["slug", "name", "contact", "client", "status"],
        [
            [v["slug"], v["display_name"], v["contact_email"], v["client_id"], v["status"]]
            for v in rows
        ],
    )


def _switch(vendor: str, verb: str, reason: str) -> None:
    row = ApiClient().request("POST", f"/v1/vendors/{vendor}/{verb}", json={"reason": reason})
    console.print(f"vendor [bold]{vendor}[/] is {row['status']}")


@app.command("disable")
@friendly_errors
def disable_vendor(
    vendor: str,
    reason: Reason = "by operator",
) -> None:
    """Stop a vendor: no new tokens, its calls refused; its versions keep serving banks."""
    _switch(vendor, "disable", reason)


@app.command("enable")
@friendly_errors
def enable_vendor(
    vendor: str,
    reason: Reason = "by operator",
) -> None:
    """Let a disabled vendor log in and submit again."""
    _switch(vendor, "enable", reason)


@app.command("delete")
@friendly_errors
def delete_vendor(
    vendor: str,
    reason: Reason = "by operator",
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


@app.command("login")
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


@app.command("usage")
@friendly_errors
def vendor_usage(
    vendor: str,
    start: Day = None,
    end: Day = None,
) -> None:
    """Calls to the vendor's modules per day (no bank identities)."""
    report = ApiClient().request("GET", f"/v1/vendors/{vendor}/usage", params=period(start, end))
    usage_table(report, with_tenants=True)
