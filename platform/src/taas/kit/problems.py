"""problem+json (RFC 9457) bodies, and the OpenAPI declarations of error responses.

Every error TaaS answers itself, on the control plane and on the gateways, is a problem
whose ``type`` is ``urn:taas:problem:<kind>``: one scheme, with the kinds listed in
:data:`KINDS` (and in docs/problems.md). The control plane names the kind after the status
(``not-found``, ``validation``, ...); the gateway names the precise reason
(``not-subscribed``, ``missing-scopes``, ...). Clients branch on ``type``, never on
``detail``, which is prose for people.
"""

from __future__ import annotations

from typing import Annotated, Any

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


PROBLEM_TYPE_PREFIX = "urn:taas:problem:"

KINDS: dict[str, str] = {
    # Kinds named after the status: what the control plane answers.
    "bad-request": "The request could not be read (for example, a body that is not JSON).",
    "unauthorized": "No valid credentials: log in and send a bearer token.",
    "forbidden": "Valid credentials, but the caller may not do this.",
    "not-found": "The named thing does not exist, or is not the caller's to see.",
    "conflict": "The request clashes with the current state (a name taken, a transition "
    "not allowed, another operation running).",
    "validation": "The request does not match the API's schema, or a value cannot be used; "
    "`errors` lists every bad field.",
    "rate-limited": "Too many requests; retry after `Retry-After` seconds.",
    "internal": "An unexpected error; it was logged with the request id.",
    "bad-gateway": "A system the platform depends on failed in a way retrying will not fix.",
    "unavailable": "A system the platform depends on does not answer; retry later.",
    "timeout": "A system the platform depends on did not answer in time.",
    # Kinds the gateway answers with: the precise reason a call was refused.
    "missing-token": "The call carries no bearer token.",
    "invalid-token": "The token is not valid for this gateway.",
    "expired-token": "The token has expired.",
    "wrong-tenant": "The token belongs to another bank than the one in the path.",
    "tenant-suspended": "The bank is not active; its calls are not served.",
    "unknown-module": "No module of that name exists.",
    "not-subscribed": "The bank is not subscribed to the module.",
    "version-withdrawn": "The version the subscription is on may not be called.",
    "missing-scopes": "The token lacks scopes the module needs.",
    "tenant-rate-limited": "The bank's rate limit is reached.",
    "subscription-rate-limited": "The subscription's rate limit is reached.",
    "monthly-quota-exceeded": "The subscription's monthly quota is used up.",
    "limiter-unavailable": "Calls cannot be counted against limits right now.",
    "identity-unavailable": "The bank's signing keys cannot be fetched right now.",
    "not-ready": "The gateway has not loaded its route table yet.",
    "no-such-path": "The path is not of the form the gateway serves.",
    "upstream-timeout": "The module did not answer in time.",
    "upstream-unreachable": "The module cannot be reached.",
}
"""Every problem kind TaaS answers with, and what it means."""

_KIND_OF_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    422: "validation",
    429: "rate-limited",
    500: "internal",
    502: "bad-gateway",
    503: "unavailable",
    504: "timeout",
}


def problem_type(kind: str) -> str:
    """The ``type`` of a problem of this kind: ``urn:taas:problem:<kind>``."""
    return PROBLEM_TYPE_PREFIX + kind


def status_kind(status: int) -> str:
    """The kind of problem a status means when nothing more precise is known."""
    return _KIND_OF_STATUS.get(status, "internal" if status >= 500 else "bad-request")


class Problem(BaseModel):
    """An error response: what went wrong and, in ``hint``, what to do next."""

    model_config = ConfigDict(extra="allow")

    type: Annotated[
        str,
        Field(
            pattern=r"^urn:taas:problem:[a-z][a-z0-9-]*$",
            description="`urn:taas:problem:<kind>`; the kinds are listed in docs/problems.md.",
            examples=["urn:taas:problem:not-found"],
        ),
    ]
    title: str
    status: int
    detail: str
    hint: str | None = None
    request_id: str | None = None


def problem_body(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    body = {
        "type": problem_type(status_kind(status)),
        "title": _TITLES.get(status, "Error"),
        "status": status,
    }
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
