"""``taas images``: build the platform's, the modules' and the example plugin's images from
the checkout (no container engine) and push them to the stack's registry by digest."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from taas.cli.errors import friendly_errors
from taas.cli.output import console, print_table
from taas.cli.session import local_stack
from taas.kit.errors import ConfigurationError
from taas.kit.oci import RegistryClient
from taas.localstack.app_images import (
    RECIPES,
    Built,
    ImageBuilder,
    checkout,
    recipe,
    record,
    save,
)
from taas.localstack.components import Registry

app = typer.Typer(help="Build and list the images pods run.", no_args_is_help=True)

Names = Annotated[
    list[str] | None,
    typer.Argument(help=f"Images (default: all): {', '.join(one.name for one in RECIPES)}"),
]


@app.command()
@friendly_errors
def build(names: Names = None) -> None:
    """Build (base and dependency layers cached) and push; print each image's digest and size."""
    stack = local_stack()
    registry = Registry(stack.ctx)
    if not registry.answers():
        raise ConfigurationError(
            "the stack's registry does not answer", hint="start it with `taas stack up registry`"
        )
    builder = ImageBuilder(stack.ctx.log, stack.ctx.paths, checkout())
    chosen = [recipe(name) for name in names] if names else list(RECIPES)
    built: list[tuple[Built, float]] = []
    with RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as client:
        for one in chosen:
            started = time.monotonic()
            with stack.ctx.log.step(f"image {one.repository}"):
                pushed = builder.push(one, client)
            built.append((pushed, time.monotonic() - started))
            save(stack.ctx.paths, [pushed])
    print_table(
        ["image", "reference", "MB (compressed)", "s"],
        [
            [one.recipe.name, one.reference, f"{one.compressed_bytes / 1e6:.1f}", f"{s:.1f}"]
            for one, s in built
        ],
    )
    console.print("[green]✓[/] pushed; pods pull them by these references")


@app.command("list")
@friendly_errors
def list_images() -> None:
    """The images last pushed to this stack's registry, by digest."""
    path = record(local_stack().ctx.paths)
    if not path.exists():
        console.print("no image built yet: run `taas images build`")
        return
    known = json.loads(path.read_text())
    print_table(["image", "reference"], [[name, ref] for name, ref in sorted(known.items())])
