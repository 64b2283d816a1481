"""Validation always ends with a report: property-based tests over mutated manifests.

Whatever a vendor submits (keys dropped, wrong types, garbage nested in the OpenAPI
document or its examples, huge values), ``validate`` returns a report the worker can
store: every check named, failures explained, and a hint on what to do. The plugin is a
fake HTTP transport here (this is a unit test of the validation logic); the real-stack
tests in ``test_plugins.py`` run the same cases through the API and a worker.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manifest_mutations import HUGE, JUNK, mutated_manifests
from plugin_app import manifest
from taas.kit import signing
from taas.plugins.validation import validate
from taas.plugins.validation_report import MAX_DETAIL, MAX_NAME

BASE = manifest("prop-plugin", "1.0.0", "http://plugin.test")
SECRET = "unit-test-signing-secret"


def _answer(mode: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if mode == "garbage":
            return httpx.Response(200, content=b"\x00\xff not json")
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        path = request.url.raw_path.decode().split("?", 1)[0]
        if not signing.verify_signature(
            request.headers, SECRET, 60, method=request.method, path=path
        ):
            return httpx.Response(401, json={"error": "not signed"})
        if b'"amount":-' in request.content.replace(b" ", b""):
            return httpx.Response(422, json={"error": "amount must not be negative"})
        return httpx.Response(200, json={"score": 700, "tenant": "t"})

    return httpx.MockTransport(handle)


def _headers(method: str, path: str) -> dict[str, str]:
    return dict(
        signing.identity_headers(
            signing.signer(SECRET),
            timestamp=str(int(time.time())),
            method=method,
            path=path,
            tenant="taas-contract-check",
            tenant_id="00000000-0000-0000-0000-000000000000",
            caller="system:plugin-validator",
            caller_client="system:plugin-validator",
            scopes="",
            module="prop-plugin",
            version="1.0.0",
            request_id="r1",
        )
    )


def _run(document: dict[str, Any], mode: str = "ok") -> dict[str, Any]:
    with httpx.Client(transport=_answer(mode)) as http:
        return validate(document, http, _headers)


def assert_terminal_report(report: dict[str, Any]) -> None:
    """What the worker needs to end the version validated or invalid and store why."""
    assert isinstance(report["passed"], bool)
    assert report["checks"], "a report names at least one check"
    for check in report["checks"]:
        assert set(check) == {"name", "ok", "detail"}
        assert isinstance(check["ok"], bool)
        assert 0 < len(check["name"]) <= MAX_NAME
        assert 0 < len(check["detail"]) <= MAX_DETAIL
    if report["passed"]:
        assert all(check["ok"] for check in report["checks"])
    else:
        assert any(not check["ok"] for check in report["checks"])
        assert "submit a new version" in report["hint"]
    stored = json.dumps(report, ensure_ascii=False)
    assert "\x00" not in stored  # PostgreSQL's jsonb refuses NUL characters


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_manifests(BASE), st.sampled_from(["ok", "ok", "down", "garbage"]))
def test_every_mutated_manifest_ends_in_a_terminal_report(
    document: dict[str, Any], mode: str
) -> None:
    assert_terminal_report(_run(document, mode))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=12), JUNK, max_size=6))
def test_garbage_in_place_of_the_openapi_document_is_a_finding(junk: dict[str, Any]) -> None:
    report = _run({**BASE, "openapi": junk})
    assert_terminal_report(report)
    assert report["passed"] is False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JUNK | HUGE)
def test_garbage_request_and_response_examples_are_findings(junk: Any) -> None:
    document = copy.deepcopy(BASE)
    operation = document["openapi"]["paths"]["/score"]["post"]
    operation["requestBody"]["content"]["application/json"]["examples"]["small-loan"] = junk
    operation["responses"]["200"]["content"]["application/json"]["examples"] = junk
    assert_terminal_report(_run(document))


def test_an_openapi_document_without_its_openapi_key_fails_its_check() -> None:
    document = copy.deepcopy(BASE)
    del document["openapi"]["openapi"]
    report = _run(document)
    assert_terminal_report(report)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["openapi.valid"]["ok"] is False
    assert checks["openapi.valid"]["detail"]
    assert checks["manifest.schema"]["ok"] is True


def test_the_unmutated_manifest_passes() -> None:
    report = _run(copy.deepcopy(BASE))
    assert report["passed"] is True, report
    assert "hint" not in report


def test_a_crash_inside_a_check_becomes_a_failed_check() -> None:
    def exploding(method: str, path: str) -> dict[str, str]:
        raise RuntimeError("")  # an exception with an empty message, like the one in issue 10

    with httpx.Client(transport=_answer("ok")) as http:
        report = validate(copy.deepcopy(BASE), http, exploding)
    assert_terminal_report(report)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["health.probe"]["ok"] is False
    assert "RuntimeError" in checks["health.probe"]["detail"]


def test_deeply_nested_garbage_is_a_finding() -> None:
    nested: Any = "leaf"
    for _ in range(5_000):
        nested = {"n": [nested]}
    document = copy.deepcopy(BASE)
    document["openapi"]["paths"]["/score"]["post"]["x-deep"] = nested
    assert_terminal_report(_run(document))


def test_a_plugin_that_trusts_unsigned_headers_fails_the_signature_probes() -> None:
    def trusting(request: httpx.Request) -> httpx.Response:
        if b'"amount":-' in request.content.replace(b" ", b""):
            return httpx.Response(422, json={"error": "negative"})
        tenant = request.headers.get("X-TaaS-Tenant", "")
        return httpx.Response(200, json={"score": 700, "tenant": tenant})

    with httpx.Client(transport=httpx.MockTransport(trusting)) as http:
        report = validate(copy.deepcopy(BASE), http, _headers)
    assert_terminal_report(report)
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert set(failed) == {
        "signature.unsigned POST /score",
        "signature.wrong_key POST /score",
        "signature.tampered POST /score",
    }
    assert failed["signature.wrong_key POST /score"].startswith("answered 200 to a request")
