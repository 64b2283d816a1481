"""The contract check: the example calls of a plugin's OpenAPI document, sent to the
running plugin; each must be answered with the declared status and a body that matches
the declared schema.

Contract convention (see the vendor guide): for each operation, every named request
example (``requestBody.content.application/json.examples``, or ``example``) is sent; the
expected status is the response that has an example of the same name, else the lowest
declared 2xx. Operations without a request body are called once when all their required
parameters have examples. Path and query parameters take their ``example``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_schema_validator import OAS30Validator

from taas.plugins.validation_report import Check, clip, describe_exception

METHODS = ("get", "put", "post", "delete", "patch")
# The identity headers a gateway would sign for a call, given its method and path.
HeadersFor = Callable[[str, str], dict[str, str]]


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

    @property
    def operation(self) -> str:
        """The operation this call exercises, its label without the example's name."""
        return self.label.split(" [", 1)[0]


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
            yield Check(f"contract {clip(str(raw_path), 100)}", False, "not a path item")
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
            reason = f"cannot read this operation: {describe_exception(exc)}"
            yield Check(f"contract {label}", False, reason)
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
    """Send ``call`` with the gateway's identity headers; it must be answered as declared."""
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
