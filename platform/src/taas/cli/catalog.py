"""``taas catalog``: the modules banks can subscribe to."""

from __future__ import annotations

from typing import Annotated

import typer

from taas.cli.errors import friendly_errors
from taas.cli.output import print_table
from taas.cli.session import ApiClient


@friendly_errors
def catalog(capability: Annotated[str | None, typer.Option()] = None) -> None:
    """Modules banks can subscribe to."""
    modules = ApiClient().request(
        "GET", "/v1/catalog", params={"capability": capability} if capability else {}
    )
    print_table(
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
