"""Entry point of the ``taas`` command: one sub-group per area."""

from __future__ import annotations

import typer

from taas.cli import stack
from taas.cli.demo import demo

app = typer.Typer(
    help="TaaS: the multi-tenant financial cloud for small banks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack.app, name="stack")
app.command()(demo)
