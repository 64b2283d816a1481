"""What several commands print the same way: plain tables and usage reports."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
# The first or last day of a usage report; the API defaults it (month start, today).
Day = Annotated[str | None, typer.Option(help="YYYY-MM-DD")]


def period(start: str | None, end: str | None) -> dict[str, str]:
    """The query of a usage report: the days the command was given."""
    return {name: day for name, day in {"start": start, "end": end}.items() if day}


def print_table(columns: list[str], rows: list[list[Any]]) -> None:
    """A table whose cells fold when long; None shows as ``-``."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[str(value) if value is not None else "-" for value in row])
    console.print(table)


def usage_table(report: dict[str, Any], *, with_tenants: bool = False) -> None:
    """A usage report (``/usage`` of a tenant or a vendor) per day, module and version."""
    columns = ["day", "module", "version", "billable", "errors", "refused"]
    columns += ["avg ms", "max ms", "in B", "out B"]
    rows = []
    for r in report["rows"]:
        row = [r["day"], r["module"], r["version"], r["calls"], r["errors"], r["refusals"]]
        row += [r["latency_ms_avg"], r["latency_ms_max"], r["bytes_in"], r["bytes_out"]]
        rows.append([*row, r["tenants"]] if with_tenants else row)
    print_table([*columns, "tenants"] if with_tenants else columns, rows)
