"""Fuzzed requests generated from the API's own OpenAPI document never get a 500, every
response matches what the document declares (status codes, content types, bodies), and
every request that does not match the document is refused.

Two runs over every operation:

* valid and invalid requests, writes with an auditor's token: valid bodies are refused
  with 403 and invalid ones with 422, so the fuzzer explores validation without
  provisioning real tenants; reads run with an operator's token;
* invalid requests only (schemathesis' negative data), with an operator's token, aimed at
  a tenant and a vendor that belong to the fuzzer: an invalid request the API accepted
  would act on them (and fail the ``negative_data_rejection`` check), never on another
  test's data. Creating tenants and vendors stays with the auditor, who may not, so an
  accepted request creates nothing either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from conftest import ControlPlane
from fuzz_support import CHECKS, NEGATIVE_CHECKS
from support import unique_slug, wait_operation

Headers = dict[str, str]
# Bounded so that the two runs together take a few minutes at most on a laptop.
NEGATIVE_EXAMPLES = int(os.environ.get("TAAS_FUZZ_NEGATIVE_EXAMPLES", "25"))
COLLECTION_CREATES = {("POST", "/v1/tenants"), ("POST", "/v1/vendors")}


def _app() -> Any:
    from taas.api.app import create_app

    return create_app()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


# The schema is read from the app itself; requests go to the same in-process app, backed by
# the test database and worker that the `api` fixture makes ready.
APP = _app()
DOCUMENT: dict[str, Any] = APP.openapi()
# An operation without parameters or body has no input that could be invalid.
INPUTLESS = {
    operation["operationId"]
    for _, _, operation in _operations(DOCUMENT)
    if not operation.get("parameters") and "requestBody" not in operation
}
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
negative = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(
    operation_id=sorted(INPUTLESS)
)
negative.config.generation.update(modes=[GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzzed_requests_never_fail_on_the_server(
    case: Any, api: Any, operator: Headers, auditor: Headers
) -> None:
    headers = operator if case.method.upper() == "GET" else auditor
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.fixture(scope="module")
def fuzz_targets(api: Any, control_plane: ControlPlane) -> Iterator[dict[str, str]]:
    """Path parameters of things the negative run may act on: its own tenant and vendor."""
    operator = control_plane.headers("test-operator")
    created = api.post(
        "/v1/tenants",
        json={"slug": unique_slug("fz"), "display_name": "Fuzz", "region": "cn-east-1"},
        headers=operator,
    )
    assert created.status_code == 202, created.text
    tenant = created.json()["tenant"]
    wait_operation(api, operator, tenant["id"], created.json()["operation"]["id"])
    vendor = api.post(
        "/v1/vendors",
        json={"slug": unique_slug("fz"), "display_name": "Fuzz", "contact_email": "f@example.com"},
        headers=operator,
    )
    assert vendor.status_code == 201, vendor.text
    yield {"tenant": tenant["slug"], "vendor": vendor.json()["vendor"]["slug"]}
    _offboard(api, control_plane.headers("test-operator"), tenant["id"])


def _offboard(api: Any, operator: Headers, tenant_id: str) -> None:
    """Whatever the fuzzer left the tenant in, end it with nothing kept."""
    for _ in range(3):
        operations = api.get(f"/v1/tenants/{tenant_id}/operations", headers=operator).json()
        running = [op for op in operations if op["status"] in ("pending", "running")]
        for operation in running:
            wait_operation(api, operator, tenant_id, operation["id"])
        status = api.get(f"/v1/tenants/{tenant_id}", headers=operator).json()["status"]
        if status == "offboarded":
            return
        response = api.post(
            f"/v1/tenants/{tenant_id}/offboard",
            json={"retention": {"keep_data_days": 0}},
            headers=operator,
        )
        if response.status_code == 202:
            wait_operation(api, operator, tenant_id, response.json()["operation"]["id"])
            return


def _aimed(case: Any, targets: dict[str, str]) -> None:
    """Point the case's valid path parameters at the fuzzer's own tenant and vendor."""
    path_mode = case.meta.components.get(ParameterLocation.PATH)
    if path_mode is not None and path_mode.mode.is_negative:
        return  # the path itself is the invalid part: leave it as generated
    for name in ("tenant", "vendor"):
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = targets[name]


@negative.parametrize()
@settings(
    max_examples=NEGATIVE_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_requests_that_do_not_match_the_document_are_refused(
    case: Any,
    api: Any,
    operator: Headers,
    auditor: Headers,
    fuzz_targets: dict[str, str],
) -> None:
    _aimed(case, fuzz_targets)
    creates = (case.method.upper(), case.operation.path) in COLLECTION_CREATES
    headers = auditor if creates else operator
    if _credentials_left_out(case):
        headers = {}  # the invalid part is the missing credential: do not add one
    case.call_and_validate(headers=headers, checks=NEGATIVE_CHECKS)


def _credentials_left_out(case: Any) -> bool:
    headers = case.meta.components.get(ParameterLocation.HEADER)
    sent = {name.lower() for name in (case.headers or {})}
    return headers is not None and headers.mode.is_negative and "authorization" not in sent


def test_every_operation_that_takes_input_is_fuzzed_with_invalid_data() -> None:
    documented = {(method, path) for method, path, _ in _operations(DOCUMENT)}
    inputless = {
        (method, path)
        for method, path, operation in _operations(DOCUMENT)
        if operation["operationId"] in INPUTLESS
    }
    fuzzed = {
        (result.ok().method.upper(), result.ok().path) for result in negative.get_all_operations()
    }
    assert fuzzed == documented - inputless
    assert ("POST", "/v1/tenants/{tenant}/offboard") in fuzzed
