"""Checks a submitted plugin version must pass before a reviewer sees it.

1. the manifest matches its schema;
2. the plugin-API range includes this platform's plugin API;
3. the OpenAPI document is valid;
4. the health probe answers 2xx;
5. the contract: every example in the OpenAPI document, sent to the running plugin,
   is answered with the declared status and a body that matches the declared schema;
6. the signature probes: each operation with an example (a successful one first; never one
   that expects 401 or 403) is sent that example
   again with identity headers the gateway did not sign (no signature, a signature made
   with another key, and a signed set whose ``X-TaaS-Tenant`` was changed afterwards), and
   must refuse every one with 401 or 403: a plugin trusts only gateway-signed headers.

Contract convention (see the vendor guide): for each operation, every named request
example (``requestBody.content.application/json.examples``, or ``example``) is sent; the
expected status is the response that has an example of the same name, else the lowest
declared 2xx. Operations without a request body are called once when all their required
parameters have examples. Path and query parameters take their ``example``.

Every run ends in a report: a check that cannot even be carried out (a malformed
document, an exception inside a library) is recorded as a failed check naming what
broke, never raised, so a version can never stay ``validating``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from pydantic import ValidationError

from taas.kit import signing
from taas.plugins.manifest import PLUGIN_API_VERSION, PluginManifest, plugin_api_compatible

METHODS = ("get", "put", "post", "delete", "patch")
MAX_CALLS = 100
MAX_CHECKS = 4 * MAX_CALLS  # the report stays small whatever the document holds
MAX_NAME, MAX_DETAIL = 200, 1000
MAX_PROBED_OPERATIONS = 10
REFUSALS = frozenset({401, 403})
# What each signature probe sends instead of the gateway's signed identity headers.
PROBES = {
    "unsigned": "without X-TaaS-Signature",
    "wrong_key": "signed with a key that is not your signing_secret",
    "tampered": "whose X-TaaS-Tenant was changed after the gateway signed it",
}
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


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]] | Check]:
    """(label, raw path, path item) of each operation, or a failed check where the
    document is not shaped like one (the OpenAPI validator may let odd shapes through)."""
    paths = document.get("paths") or {}
    if not isinstance(paths, dict):
        yield Check("contract", False, "`paths` is not an object")
        return
    for raw_path, item in paths.items():
        if not isinstance(item, dict):
            yield Check(f"contract {_clip(str(raw_path), 100)}", False, "not a path item")
            continue
        for method in METHODS:
            if item.get(method) is not None:
                yield f"{method.upper()} {raw_path}", method, item


def _calls_of(
    label: str, method: str, raw_path: str, item: dict[str, Any]
) -> Iterator[ContractCall | Check]:
    operation = item[method]
    params = [*(item.get("parameters") or []), *(operation.get("parameters") or [])]
    path, query, missing = _fill_parameters(raw_path, params)
    if missing:
        yield Check(f"contract {label}", False, f"no example for {', '.join(missing)}")
        return
    examples = _request_examples(operation)
    if examples is None:
        yield Check(f"contract {label}", False, "the request body has no example")
        return
    for name, body in examples.items():
        try:
            status, schema = _expected(operation.get("responses") or {}, name)
        except ValueError as exc:
            yield Check(f"contract {label} [{name}]", False, str(exc))
            continue
        yield ContractCall(f"{label} [{name}]", method, path, query, body, status, schema)


def contract_calls(document: dict[str, Any]) -> Iterator[ContractCall | Check]:
    """The example calls of an OpenAPI document (or failed checks where one is unusable)."""
    for found in _operations(document):
        if isinstance(found, Check):
            yield found
            continue
        label, method, item = found
        raw_path = label.split(" ", 1)[1]
        try:
            # Materialised here, so that a malformed operation fails alone.
            calls = list(_calls_of(label, method, raw_path, item))
        except Exception as exc:
            yield Check(f"contract {label}", False, f"cannot read this operation: {_describe(exc)}")
            continue
        yield from calls


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


def forged_headers(genuine: dict[str, str], kind: str, method: str, path: str) -> dict[str, str]:
    """``genuine`` gateway headers turned into what the probe ``kind`` sends (see PROBES)."""
    by_name = {name.lower(): name for name in genuine}
    forged = {
        name: value
        for name, value in genuine.items()
        if name.lower() not in (signing.SIGNATURE.lower(), signing.STORAGE_GRANT.lower())
    }
    tenant = by_name.get(signing.TENANT.lower(), signing.TENANT)
    if kind == "wrong_key":
        value = {name.lower(): v for name, v in genuine.items()}.get
        canonical = signing.canonical_string(
            timestamp=value(signing.TIMESTAMP.lower(), "0"),
            method=method,
            path=path,
            tenant=value(signing.TENANT.lower(), ""),
            tenant_id=value(signing.TENANT_ID.lower(), ""),
            caller=value(signing.CALLER.lower(), ""),
            scopes=value(signing.SCOPES.lower(), ""),
            module=value(signing.MODULE.lower(), ""),
            version=value(signing.PLUGIN_VERSION.lower(), ""),
            request_id=value(signing.REQUEST_ID.lower(), ""),
        )
        forged[signing.SIGNATURE] = signing.sign(secrets.token_urlsafe(32), canonical)
    elif kind == "tampered":
        forged[signing.SIGNATURE] = genuine[by_name[signing.SIGNATURE.lower()]]
        forged[tenant] = forged.get(tenant, "") + "-other-bank"
    return forged


def probe_targets(calls: list[ContractCall], health_path: str) -> list[ContractCall]:
    """One example call per operation (not the health probe, which is open): a successful
    one if there is, else one whose signed answer is not itself a refusal (a 404 for an
    object the sandbox lacks, say), so that a refusal of the forged call tells."""
    targets: dict[str, ContractCall] = {}
    for call in sorted(calls, key=lambda call: not 200 <= call.expect_status < 300):
        operation = call.label.split(" [", 1)[0]
        if call.path != health_path and call.expect_status not in REFUSALS:
            targets.setdefault(operation, call)
    return list(targets.values())[:MAX_PROBED_OPERATIONS]


def run_probe(
    http: httpx.Client, base: str, call: ContractCall, kind: str, headers: HeadersFor
) -> Check:
    """Send ``call`` with forged identity headers; the plugin must refuse it."""
    operation = call.label.split(" [", 1)[0]
    name = f"signature.{kind} {operation}"
    method = call.method.upper()
    sent = forged_headers(headers(method, call.path), kind, method, call.path)
    body = {} if call.body is None else {"json": call.body}
    try:
        response = http.request(
            call.method, base.rstrip("/") + call.path, params=call.query, headers=sent, **body
        )
    except httpx.HTTPError as exc:
        return Check(name, False, f"no answer to a request {PROBES[kind]}: {exc!r}")
    if response.status_code in REFUSALS:
        return Check(name, True, f"refused a request {PROBES[kind]} ({response.status_code})")
    return Check(
        name,
        False,
        f"answered {response.status_code} to a request {PROBES[kind]}: the plugin must "
        "refuse (401) every call whose X-TaaS-* headers do not carry a valid gateway "
        "signature made with your signing_secret, and trust only signed headers "
        "(vendor guide, section 3)",
    )


def _describe(exc: BaseException) -> str:
    """One line naming an exception, even one whose message is empty."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, without NUL (PostgreSQL's JSON refuses it)."""
    text = text.replace("\x00", "\\0")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _guarded(name: str, check: Callable[..., Check], *args: Any) -> Check:
    """Run one check, ``check(*args)``; an exception inside it becomes its failed result."""
    try:
        return check(*args)
    except Exception as exc:
        return Check(name, False, f"the check could not run: {_describe(exc)}")


def _openapi_valid(document: dict[str, Any]) -> Check:
    try:
        validate_openapi(document)
    except Exception as exc:
        return Check("openapi.valid", False, _describe(exc))
    return Check("openapi.valid", True, f"OpenAPI {document.get('openapi')}")


def validate(manifest: dict[str, Any], http: httpx.Client, headers: HeadersFor) -> dict[str, Any]:
    """Run every check; return the report stored with the version. Never raises: whatever
    goes wrong becomes a failed check of the report."""
    started = dt.datetime.now(dt.UTC)
    checks: list[Check] = []
    try:
        _run_checks(manifest, http, headers, checks)
    except Exception as exc:
        checks.append(
            Check(
                "validation",
                False,
                f"validation stopped: {_describe(exc)}; the checks above ran, the rest did "
                "not. Fix what the message names in the manifest or its OpenAPI document",
            )
        )
    return _report(started, checks)


def _run_checks(
    manifest: dict[str, Any], http: httpx.Client, headers: HeadersFor, checks: list[Check]
) -> None:
    try:
        parsed = PluginManifest.model_validate(manifest)
    except ValidationError as exc:
        checks.append(Check("manifest.schema", False, _first_error(exc)))
        return
    checks.append(Check("manifest.schema", True, "matches the manifest schema"))
    checks.append(
        Check(
            "plugin_api.compatible",
            plugin_api_compatible(parsed.plugin_api),  # the manifest model checked the range
            f"declared {parsed.plugin_api!r}; this platform speaks {PLUGIN_API_VERSION}",
        )
    )
    openapi = _guarded("openapi.valid", _openapi_valid, parsed.openapi)
    checks.append(openapi)
    if parsed.upstream.url is None:
        checks.append(
            Check(
                "health.probe",
                False,
                "no upstream.url: image-only plugins cannot be probed on this platform yet; "
                "add the URL of a running instance",
            )
        )
        return
    base = str(parsed.upstream.url).rstrip("/")
    health = _guarded("health.probe", _health, http, base, parsed.health_path, headers)
    checks.append(health)
    if not health.ok or not openapi.ok:
        return
    calls: list[ContractCall] = []
    for item in contract_calls(parsed.openapi):
        if len(calls) >= MAX_CALLS:
            checks.append(Check("contract", False, f"more than {MAX_CALLS} examples"))
            break
        if isinstance(item, Check):
            checks.append(item)
            continue
        call = item
        calls.append(call)
        checks.append(
            _guarded(f"contract {call.label}", run_call, http, base, call, parsed.openapi, headers)
        )
    if not calls:
        checks.append(Check("contract", False, "the OpenAPI document has no callable example"))
    targets = probe_targets(calls, parsed.health_path)
    if not targets:
        checks.append(
            Check(
                "signature.probes",
                False,
                "no example call (other than the health probe) whose answer is not a "
                "refusal, to send unsigned and forged requests to; add one, so that "
                "validation can check the plugin refuses them",
            )
        )
    for target in targets:
        operation = target.label.split(" [", 1)[0]
        for kind in PROBES:
            checks.append(
                _guarded(
                    f"signature.{kind} {operation}", run_probe, http, base, target, kind, headers
                )
            )


def _health(http: httpx.Client, base: str, path: str, headers: HeadersFor) -> Check:
    try:
        health = http.get(base + path, headers=headers("GET", path))
    except httpx.HTTPError as exc:
        return Check("health.probe", False, f"GET {path} failed: {exc!r}")
    return Check("health.probe", health.is_success, f"GET {path} answered {health.status_code}")


NEXT_STEP = (
    "fix what the failed checks name and submit a new version (versions are immutable); "
    "the vendor guide explains each check"
)


def failed_report(started: dt.datetime, name: str, detail: str) -> dict[str, Any]:
    """A report of one failed check (for validations that could not run at all)."""
    return _report(started, [Check(name, False, detail)])


def _report(started: dt.datetime, checks: list[Check]) -> dict[str, Any]:
    passed = bool(checks) and all(check.ok for check in checks)
    report: dict[str, Any] = {
        "passed": passed,
        "platform_plugin_api": PLUGIN_API_VERSION,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "checks": [
            {"name": _clip(c.name, MAX_NAME), "ok": c.ok, "detail": _clip(c.detail, MAX_DETAIL)}
            for c in checks[:MAX_CHECKS]
        ],
    }
    if not passed:
        report["hint"] = NEXT_STEP
    return report
