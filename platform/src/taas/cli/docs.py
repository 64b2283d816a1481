"""``taas docs``: documents generated from the code, so that the docs cannot drift from it."""

from __future__ import annotations

import typer

from taas.wiring import lifecycle_diagrams

app = typer.Typer(help="Documents generated from the code.", no_args_is_help=True)


@app.command("states")
def states() -> None:
    """Print every declared lifecycle as Mermaid state diagrams (the "Lifecycles" section
    of docs/architecture.md holds this output; a test keeps them equal)."""
    typer.echo(lifecycle_diagrams(), nl=False)
