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
