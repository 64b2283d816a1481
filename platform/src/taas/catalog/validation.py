"""Checks a submitted plugin version must pass before a reviewer sees it.

1. the manifest matches its schema;
2. the plugin-API range includes this platform's plugin API;
3. the OpenAPI document is valid;
4. the health probe answers 2xx;
5. the contract: every example in the OpenAPI document, sent to the running plugin,
   is answered with the declared status and a body that matches the declared schema.

Contract convention (see the vendor guide): for each operation, every named request
example (``requestBody.content.application/json.examples``, or ``example``) is sent; the
expected status is the response that has an example of the same name, else the lowest
declared 2xx. Operations without a request body are called once when all their required
parameters have examples. Path and query parameters take their ``example``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from pydantic import ValidationError

from taas.catalog.manifest import PLUGIN_API_VERSION, PluginManifest, plugin_api_compatible

METHODS = ("get", "put", "post", "delete", "patch")
MAX_CALLS = 100
HeadersFor = Callable[[str, str], dict[str, str]]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ContractCall:
    """One example call: what to send and what must come back."""

    label: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    expect_status: int
    schema: dict[str, Any] | None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    where = ".".join(str(p) for p in errors[0]["loc"]) or "manifest"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {errors[0]['msg']}{more}"


def _example_of(item: dict[str, Any]) -> Any:
    if "example" in item:
        return item["example"]
    schema = item.get("schema") or {}
    if "example" in schema:
        return schema["example"]
    examples = item.get("examples") or schema.get("examples")
    if isinstance(examples, dict) and examples:
        return next(iter(examples.values())).get("value")
    if isinstance(examples, list) and examples:
        return examples[0]
    return None


def _json_content(item: dict[str, Any]) -> dict[str, Any] | None:
    content = item.get("content") or {}
    return content.get("application/json") or next(
        (v for k, v in content.items() if k.endswith("+json")), None
    )


def _expected(responses: dict[str, Any], example: str) -> tuple[int, dict[str, Any] | None]:
    """The status (and body schema) expected for the request example named ``example``."""
    for code, response in responses.items():
        media = _json_content(response) or {}
        if example in (media.get("examples") or {}) and code.isdigit():
            return int(code), media.get("schema")
    successes = sorted(code for code in responses if code.isdigit() and code.startswith("2"))
    if not successes:
        raise ValueError("declares no 2xx response and no response example of that name")
    media = _json_content(responses[successes[0]]) or {}
    return int(successes[0]), media.get("schema")


def _fill_parameters(
    raw_path: str, params: list[dict[str, Any]]
) -> tuple[str, dict[str, str], list[str]]:
    """The path with its parameters filled in, the query, and parameters lacking examples."""
    path, query, missing = raw_path, {}, []
    for param in params:
        value = _example_of(param)
        if value is None:
            if param.get("required") or param.get("in") == "path":
                missing.append(str(param.get("name", "?")))
        elif param.get("in") == "path":
            path = path.replace("{" + param["name"] + "}", str(value))
        elif param.get("in") == "query":
            query[param["name"]] = str(value)
    return path, query, missing


def _request_examples(operation: dict[str, Any]) -> dict[str, Any] | None:
    """Named request bodies to send ({"default": None} without a body); None if unusable."""
    request = operation.get("requestBody") or {}
    media = _json_content(request)
    if media is None:
        return None if request.get("required") else {"default": None}
    examples = {name: ex.get("value") for name, ex in (media.get("examples") or {}).items()}
    if not examples and _example_of(media) is not None:
        examples = {"default": _example_of(media)}
    if not examples:
        return None if request.get("required") else {"default": None}
    return examples


def contract_calls(document: dict[str, Any]) -> Iterator[ContractCall | Check]:
    """The example calls of an OpenAPI document (or failed checks where one is unusable)."""
    for raw_path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            label = f"{method.upper()} {raw_path}"
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            path, query, missing = _fill_parameters(raw_path, params)
            if missing:
                yield Check(f"contract {label}", False, f"no example for {', '.join(missing)}")
                continue
            examples = _request_examples(operation)
            if examples is None:
                yield Check(f"contract {label}", False, "the request body has no example")
                continue
            for name, body in examples.items():
                try:
                    status, schema = _expected(operation.get("responses") or {}, name)
                except ValueError as exc:
                    yield Check(f"contract {label} [{name}]", False, str(exc))
                    continue
                yield ContractCall(f"{label} [{name}]", method, path, query, body, status, schema)


def _schema_errors(document: dict[str, Any], schema: dict[str, Any], body: Any) -> list[str]:
    """Validate ``body`` against an OpenAPI schema (its $refs resolved in ``document``)."""
    root = {**schema, "components": document.get("components") or {}}
    validator: Any
    if str(document.get("openapi", "")).startswith("3.0"):
        validator = OAS30Validator(root)
    else:
        validator = Draft202012Validator(root)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or 'body'}: {error.message}"
        for error in validator.iter_errors(body)
    ][:3]


def run_call(
    http: httpx.Client, base: str, call: ContractCall, document: dict[str, Any], headers: HeadersFor
) -> Check:
    url = base.rstrip("/") + call.path
    extra = headers(call.method.upper(), call.path)
    try:
        if call.body is None:
            response = http.request(call.method, url, params=call.query, headers=extra)
        else:
            response = http.request(
                call.method, url, params=call.query, json=call.body, headers=extra
            )
    except httpx.HTTPError as exc:
        return Check(f"contract {call.label}", False, f"no answer: {exc!r}")
    if response.status_code != call.expect_status:
        return Check(
            f"contract {call.label}",
            False,
            f"answered {response.status_code}, the document declares {call.expect_status}: "
            f"{response.text[:200]}",
        )
    if call.schema:
        try:
            body = response.json()
        except json.JSONDecodeError:
            return Check(f"contract {call.label}", False, "response is not JSON")
        errors = _schema_errors(document, call.schema, body)
        if errors:
            return Check(
                f"contract {call.label}",
                False,
                "response does not match its schema: " + "; ".join(errors),
            )
    return Check(f"contract {call.label}", True, f"answered {response.status_code} as declared")


def validate(manifest: dict[str, Any], http: httpx.Client, headers: HeadersFor) -> dict[str, Any]:
    """Run every check; return the report stored with the version."""
    started = dt.datetime.now(dt.UTC)
    checks: list[Check] = []
    try:
        parsed = PluginManifest.model_validate(manifest)
    except ValidationError as exc:
        checks.append(Check("manifest.schema", False, _first_error(exc)))
        return _report(started, checks)
    checks.append(Check("manifest.schema", True, "matches the manifest schema"))
    checks.append(
        Check(
            "plugin_api.compatible",
            plugin_api_compatible(parsed.plugin_api),
            f"declared {parsed.plugin_api!r}; this platform speaks {PLUGIN_API_VERSION}",
        )
    )
    try:
        validate_openapi(parsed.openapi)
        checks.append(Check("openapi.valid", True, f"OpenAPI {parsed.openapi.get('openapi')}"))
        document_ok = True
    except Exception as exc:  # the validator raises many kinds; each is a finding
        checks.append(Check("openapi.valid", False, str(exc).splitlines()[0][:300]))
        document_ok = False
    if parsed.upstream.url is None:
        checks.append(
            Check(
                "health.probe",
                False,
                "no upstream.url: image-only plugins cannot be probed on this platform yet; "
                "add the URL of a running instance",
            )
        )
        return _report(started, checks)
    base = str(parsed.upstream.url).rstrip("/")
    try:
        health = http.get(base + parsed.health_path, headers=headers("GET", parsed.health_path))
        checks.append(
            Check(
                "health.probe",
                health.is_success,
                f"GET {parsed.health_path} answered {health.status_code}",
            )
        )
    except httpx.HTTPError as exc:
        checks.append(Check("health.probe", False, f"GET {parsed.health_path} failed: {exc!r}"))
        return _report(started, checks)
    if document_ok:
        calls = 0
        for item in contract_calls(parsed.openapi):
            if calls >= MAX_CALLS:
                checks.append(Check("contract", False, f"more than {MAX_CALLS} examples"))
                break
            if isinstance(item, Check):
                checks.append(item)
                continue
            calls += 1
            checks.append(run_call(http, base, item, parsed.openapi, headers))
        if calls == 0:
            checks.append(Check("contract", False, "the OpenAPI document has no callable example"))
    return _report(started, checks)


def _report(started: dt.datetime, checks: list[Check]) -> dict[str, Any]:
    return {
        "passed": all(check.ok for check in checks),
        "platform_plugin_api": PLUGIN_API_VERSION,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "checks": [asdict(check) for check in checks],
    }
