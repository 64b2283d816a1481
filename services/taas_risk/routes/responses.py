"""The documented answers the risk routes share: problem+json errors with examples."""

from __future__ import annotations

from typing import Any

from taas_risk import examples
from taas_risk.schemas import Problem

PROBLEM_SCHEMA = Problem.model_json_schema()
INVALID = {"invalid": examples.INVALID_BODY}


def problems(status: int, description: str, named: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": PROBLEM_SCHEMA,
                "examples": {name: {"value": value} for name, value in named.items()},
            }
        },
    }


def ok(model: type[Any], named: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "content": {"application/json": {"examples": named}}}


def unavailable() -> dict[str, Any]:
    example = Problem(
        type="about:blank",
        title="Service unavailable",
        status=503,
        detail="the tenant's stored risk state 'state/blacklist.json' cannot be read: ...",
        hint="repair or remove risk/state/blacklist.json in the tenant's bucket (the module "
        "will not overwrite it); removing it resets that part to the defaults",
    ).model_dump(exclude_none=True)
    return problems(
        503, "The tenant's stored state cannot be read or written", {"corrupt": example}
    )


def admin_only(scope: str) -> dict[str, Any]:
    return problems(403, f"The token lacks the scope {scope}", {})


def missing_object() -> dict[str, Any]:
    return Problem(
        type="about:blank",
        title="Not found",
        status=404,
        detail="no object 'batches/does-not-exist.csv' in the tenant's storage",
    ).model_dump(exclude_none=True)
