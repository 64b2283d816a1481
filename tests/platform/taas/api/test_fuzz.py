"""Fuzzed requests generated from the API's own OpenAPI document never get a 500, and every
response matches what the document declares (status codes, content types, bodies).

Writes run with an auditor's token: valid bodies are refused with 403 and invalid ones
with 422, so the fuzzer explores validation without provisioning real tenants. Reads run
with an operator's token.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from fuzz_support import CHECKS


def _app() -> Any:
    from taas.api.app import create_app

    return create_app()


# The schema is read from the app itself; requests go to the same in-process app, backed by
# the test database and worker that the `api` fixture makes ready.
schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzzed_requests_never_fail_on_the_server(
    case: Any, api: Any, operator: dict[str, str], auditor: dict[str, str]
) -> None:
    headers = operator if case.method.upper() == "GET" else auditor
    case.call_and_validate(headers=headers, checks=CHECKS)
