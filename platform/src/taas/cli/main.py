"""Entry point of the ``taas`` command: one sub-group per area."""

from __future__ import annotations

from typing import Annotated

import typer

from taas.cli import (
    approvals,
    audit,
    catalog,
    docs,
    gateway,
    images,
    operators,
    platform,
    plugins,
    profiles,
    stack,
    subscriptions,
    tenants,
    vendors,
)
from taas.cli.demo import demo
from taas.cli.session import select_profile

app = typer.Typer(
    help="TaaS: the multi-tenant financial cloud for small banks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            envvar="TAAS_PROFILE",
            help="Run as this stored login instead of the current one (taas profiles list).",
        ),
    ] = None,
) -> None:
    """TaaS: the multi-tenant financial cloud for small banks."""
    select_profile(profile)


app.add_typer(stack.app, name="stack")
app.add_typer(platform.app, name="platform")
app.add_typer(images.app, name="images")
app.command("login")(platform.login_command)
app.add_typer(profiles.app, name="profiles")
app.add_typer(operators.app, name="operators")
app.add_typer(tenants.app, name="tenants")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.add_typer(gateway.app, name="gateway")
app.add_typer(vendors.app, name="vendors")
app.add_typer(plugins.app, name="plugins")
app.add_typer(subscriptions.app, name="subscriptions")
app.command("catalog")(catalog.catalog)
app.command()(demo)
app.add_typer(docs.app, name="docs")
