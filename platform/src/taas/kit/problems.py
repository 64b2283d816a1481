"""problem+json (RFC 9457) bodies, and the OpenAPI declarations of error responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class Problem(BaseModel):
    """An error response: what went wrong and, in ``hint``, what to do next."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str
    hint: str | None = None
    request_id: str | None = None


def problem_body(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
