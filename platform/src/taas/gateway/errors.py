"""Why the gateway refuses a call, and the problem+json response that says so."""

from __future__ import annotations

import json

from taas.kit.problems import PROBLEM_JSON, problem_body, problem_type

_TITLES = {504: "Gateway timeout"}
Headers = list[tuple[bytes, bytes]]


class Rejection(Exception):
    """A call the gateway answers itself: ``code`` names the reason, a problem kind of
    ``taas.kit.problems.KINDS`` (the ``type`` is ``urn:taas:problem:<code>``)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        hint: str,
        retry_after: int | None = None,
        **extra: object,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.hint = hint
        self.retry_after = retry_after
        self.extra = extra


def problem_response(rejection: Rejection, request_id: str) -> tuple[int, Headers, bytes]:
    """Status, headers and body of the problem+json answer to ``rejection``."""
    body = problem_body(
        rejection.status,
        rejection.detail,
        type=problem_type(rejection.code),
        hint=rejection.hint,
        request_id=request_id,
        **rejection.extra,
    )
    if rejection.status in _TITLES:
        body["title"] = _TITLES[rejection.status]
    payload = json.dumps(body).encode()
    headers: Headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if rejection.retry_after is not None:
        headers.append((b"retry-after", str(rejection.retry_after).encode()))
    return rejection.status, headers, payload


# The gateway's own refusals, named for what happened.


def not_ready() -> Rejection:
    return Rejection(
        503,
        "not-ready",
        "the gateway has not loaded its route table yet",
        hint="retry in a few seconds; the gateway keeps trying to reach its database",
    )


def documents_unavailable() -> Rejection:
    return Rejection(
        503,
        "documents-unavailable",
        "the API reference cannot be read right now",
        hint="retry in a few seconds; the gateway keeps trying to reach its database",
    )


def no_such_path() -> Rejection:
    return Rejection(
        404,
        "no-such-path",
        "the gateway serves /t/{tenant}/{module}/{path}",
        hint="call a module as /t/<bank>/<module>/<path>",
    )


def internal_error() -> Rejection:
    return Rejection(
        500,
        "internal",
        "unexpected error in the gateway; it was logged with the request id",
        hint="retry; if it lasts, tell the TaaS operators the request id",
    )


def upstream_timed_out(module: str, timeout_s: float) -> Rejection:
    return Rejection(
        504,
        "upstream-timeout",
        f"module {module!r} did not answer within {timeout_s:g} s",
        hint="retry later; if it lasts, the module's vendor has to look at it",
    )


def upstream_unreachable(module: str, exc: Exception) -> Rejection:
    return Rejection(
        502,
        "upstream-unreachable",
        f"module {module!r} cannot be reached ({type(exc).__name__})",
        hint="retry later; if it lasts, the module's vendor has to look at it",
    )
