"""``taas profiles``: the stored logins (one per person or vendor), and which one is used."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from taas.cli.errors import friendly_errors
from taas.cli.session import profile_rows, profiles_file, remove_profile, use_profile

app = typer.Typer(
    help="Stored logins: list them, pick the current one, forget one.", no_args_is_help=True
)
console = Console(highlight=False)


@app.command("list")
@friendly_errors
def list_profiles() -> None:
    """Every stored login; * marks the one commands use."""
    rows = profile_rows()
    if not rows:
        console.print(f"no profiles yet in {profiles_file()}: log in with taas login")
        return
    table = Table()
    for column in ("", "profile", "user", "realm", "login"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            "*" if row["current"] else "",
            row["name"],
            str(row["username"]),
            str(row["realm"]),
            row["state"],
        )
    console.print(table)


@app.command("use")
@friendly_errors
def use(name: str) -> None:
    """Make a profile the current one (``--profile`` or ``TAAS_PROFILE`` still win)."""
    use_profile(name)
    console.print(f"[green]✓[/] profile [bold]{name}[/] is current")


@app.command("remove")
@friendly_errors
def remove(name: str) -> None:
    """Forget a profile and its token."""
    was_current = remove_profile(name)
    console.print(f"[green]✓[/] removed profile {name}")
    if was_current:
        console.print("no profile is current now: taas profiles use NAME")
