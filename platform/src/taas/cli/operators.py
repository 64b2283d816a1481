"""``taas operators``: the platform's operators and auditors (four-eyes review needs two)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taas.cli.errors import friendly_errors
from taas.cli.session import ApiClient

app = typer.Typer(help="Platform operators and auditors (operators only).", no_args_is_help=True)
console = Console(highlight=False)


class Role(StrEnum):
    operator = "operator"
    auditor = "auditor"


@app.command("add")
@friendly_errors
def add(
    username: Annotated[str, typer.Argument(help="Login name (lowercase).")],
    email: Annotated[str, typer.Option(help="The person's e-mail address.")],
    role: Annotated[Role, typer.Option(help="operator changes things; auditor reads.")] = (
        Role.operator
    ),
    idempotency_key: Annotated[str | None, typer.Option(help="Retry-safe key.")] = None,
) -> None:
    """Add an operator (or auditor); prints a temporary password, once, to hand over."""
    created = ApiClient().request(
        "POST",
        "/v1/operators",
        json={"username": username, "email": email, "role": f"platform-{role.value}"},
        headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
    )
    console.print(f"[green]✓[/] {username} is a platform {role.value}")
    if created["temporary_password"]:
        console.print(f"temporary password: {created['temporary_password']}")
        console.print(
            f"{username} replaces it at the first login at {created['account_url']}, "
            f"then logs in here with: taas login --username {username}"
        )


@app.command("list")
@friendly_errors
def list_operators() -> None:
    """Everyone with a platform role."""
    rows = ApiClient().request("GET", "/v1/operators")["items"]
    table = Table()
    for column in ("user", "e-mail", "roles", "enabled", "password set", "created"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["username"],
            row["email"] or "-",
            " ".join(role.removeprefix("platform-") for role in row["roles"]),
            "yes" if row["enabled"] else "no",
            "no (temporary)" if row["pending_setup"] else "yes",
            (row["created_at"] or "-")[:19],
        )
    console.print(table)


@app.command("remove")
@friendly_errors
def remove(username: str) -> None:
    """Remove an operator or auditor (never yourself, never the last operator)."""
    ApiClient().request("DELETE", f"/v1/operators/{username}")
    console.print(f"[green]✓[/] removed {username}")
