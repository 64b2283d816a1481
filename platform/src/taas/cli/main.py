"""Entry point of the ``taas`` command: one sub-group per area."""

from __future__ import annotations

import typer

from taas.cli import approvals, audit, catalog, gateway, platform, stack, tenants
from taas.cli.demo import demo

app = typer.Typer(
    help="TaaS: the multi-tenant financial cloud for small banks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack.app, name="stack")
app.add_typer(platform.app, name="platform")
app.add_typer(tenants.app, name="tenants")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.add_typer(gateway.app, name="gateway")
app.add_typer(catalog.vendors, name="vendors")
app.add_typer(catalog.plugins, name="plugins")
app.add_typer(catalog.subscriptions, name="subscriptions")
app.command("catalog")(catalog.catalog)
app.command()(demo)
