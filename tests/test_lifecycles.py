"""Every status column is guarded by a declared lifecycle, and the docs show them all as
``taas docs states`` generates them today."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from taas.cli.main import app
from taas.kit.db import Base
from taas.kit.states import GUARDED, LIFECYCLES
from taas.wiring import MODELS, lifecycle_diagrams

ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
SECTION = re.compile(
    r"<!-- taas docs states: begin -->\n(.*?)<!-- taas docs states: end -->", re.DOTALL
)


def test_every_mapped_status_column_has_a_lifecycle_guard() -> None:
    assert MODELS  # importing them registered every table and lifecycle
    with_status = [mapper.class_ for mapper in Base.registry.mappers if "status" in mapper.columns]
    assert len(with_status) >= 7
    unguarded = [cls.__name__ for cls in with_status if (cls, "status") not in GUARDED]
    assert unguarded == [], "guard each with its Lifecycle: LIFECYCLE.guard(Model.status)"


def test_each_guard_knows_every_value_the_column_can_hold() -> None:
    for (cls, _), lifecycle in GUARDED.items():
        assert lifecycle in LIFECYCLES, cls.__name__
        states = set(lifecycle.states.__members__.values())
        assert set(lifecycle.transitions) == states, cls.__name__


def test_the_docs_hold_exactly_what_the_command_generates() -> None:
    found = SECTION.search(ARCHITECTURE.read_text())
    assert found, "docs/architecture.md lost its generated Lifecycles section"
    assert found.group(1) == lifecycle_diagrams(), (
        "the lifecycles changed: paste the output of `taas docs states` between the "
        "markers in docs/architecture.md"
    )


def test_the_command_prints_every_lifecycle() -> None:
    result = CliRunner().invoke(app, ["docs", "states"])
    assert result.exit_code == 0, result.output
    assert result.output == lifecycle_diagrams()
    for lifecycle in LIFECYCLES:
        assert f"### {lifecycle.name}\n" in result.output
