"""A bank naming another bank's tenant gets exactly what it gets for a tenant that does not
exist, on every tenant-scoped path of the OpenAPI document (issue 10, item 7)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from conftest import ControlPlane
from support import bank_admin_headers, unique_slug

Schema = dict[str, Any]


def _deref(document: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


SCALARS: dict[str, Callable[[Schema], Any]] = {
    "array": lambda schema: [],
    "integer": lambda schema: max(1, int(schema.get("minimum", 1))),
    "number": lambda schema: float(max(1, schema.get("minimum", 1))),
    "boolean": lambda schema: False,
    "null": lambda schema: None,
    "string": lambda schema: "x" * max(1, int(schema.get("minLength", 1))),
}


def example(document: Schema, schema: Schema) -> Any:
    """A small value that satisfies ``schema`` (required fields only)."""
    schema = _deref(document, schema)
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            choices = [c for c in schema[combined] if _deref(document, c).get("type") != "null"]
            return example(document, choices[0] if choices else schema[combined][0])
    if "enum" in schema or "const" in schema:
        return schema["enum"][0] if "enum" in schema else schema["const"]
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: example(document, properties.get(name, {})) for name in schema.get("required", [])
        }
    return SCALARS.get(str(schema.get("type")), SCALARS["string"])(schema)


def _normalised(response: Any, sent: str) -> tuple[int, Any]:
    """Status and body, without the request id and with the tenant reference as sent
    replaced by a placeholder."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text.replace(sent, "<ref>")
    if isinstance(body, dict):
        body.pop("request_id", None)
        body.pop("instance", None)
        if isinstance(body.get("detail"), str):
            body["detail"] = body["detail"].replace(sent, "<ref>")
    return response.status_code, body


def test_a_foreign_tenant_answers_as_a_missing_one_on_every_tenant_path(
    api: Any, control_plane: ControlPlane, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    own = make_tenant(tier="pool")["tenant"]
    foreign = make_tenant(tier="pool")["tenant"]
    headers = bank_admin_headers(control_plane.token, own)
    document: Schema = api.get("/openapi.json").json()

    checked = 0
    for template, operations in document["paths"].items():
        if "{tenant}" not in template:
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = example(document, content["application/json"]["schema"])

            def call(
                ref: str, template: str = template, method: str = method, body: Any = body
            ) -> Any:
                path = template.replace("{tenant}", ref)
                path = re.sub(r"\{[^}]+\}", "no-such-thing", path)
                kwargs: dict[str, Any] = {"headers": headers}
                if body is not None:
                    kwargs["json"] = body
                return api.request(method.upper(), path, **kwargs)

            for foreign_ref, missing_ref in (
                (foreign["slug"], unique_slug()),
                (foreign["id"], str(uuid.uuid4())),
            ):
                seen_foreign = call(foreign_ref)
                seen_missing = call(missing_ref)
                where = f"{method.upper()} {template} with {foreign_ref}"
                assert seen_foreign.status_code < 500, (where, seen_foreign.text)
                assert seen_foreign.status_code not in (200, 201, 202, 204), where
                assert _normalised(seen_foreign, foreign_ref) == _normalised(
                    seen_missing, missing_ref
                ), where
                other_ref = foreign["id"] if foreign_ref == foreign["slug"] else foreign["slug"]
                assert other_ref not in seen_foreign.text, where
                checked += 1
    assert checked >= 2 * 10, "the OpenAPI document lists fewer tenant paths than expected"
