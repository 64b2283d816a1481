"""The control plane's OpenAPI document is valid and tells a generated client the truth:
named operations, typed bodies, enum statuses, the credential each operation takes."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from openapi_spec_validator import validate

from taas.gateway.errors import Rejection, problem_response
from taas.kit.problems import KINDS, problem_body
from taas.plugins.manifest import manifest_json_schema

METHODS = {"get", "post", "put", "patch", "delete"}
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]{2,60}$")


@cache
def _document() -> dict[str, Any]:
    from taas.api.app import create_app

    document: dict[str, Any] = create_app().openapi()
    return document


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in _document()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = _document()["components"]["schemas"][name]
    return schema


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema itself, or the non-null one of an ``anyOf`` with null, refs followed."""
    if "anyOf" in schema:
        (schema,) = [option for option in schema["anyOf"] if option.get("type") != "null"]
    if "$ref" in schema:
        return _schema(schema["$ref"].removeprefix("#/components/schemas/"))
    return schema


def test_the_document_is_valid_openapi() -> None:
    validate(_document())


def test_every_operation_has_a_unique_readable_id() -> None:
    ids = [operation.get("operationId", "") for _, _, operation in _operations()]
    assert all(OPERATION_ID.match(operation_id) for operation_id in ids), ids
    assert len(ids) == len(set(ids))
    paths = {(method, path): op["operationId"] for method, path, op in _operations()}
    assert paths[("post", "/v1/tenants")] == "createTenant"
    assert paths[("post", "/v1/tenants/{tenant}/offboard")] == "offboardTenant"


def test_plugin_submission_references_the_published_manifest_schema() -> None:
    submit = _document()["paths"]["/v1/vendors/{vendor}/plugins"]["post"]
    body = submit["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/PluginManifest"
    served = json.dumps(manifest_json_schema()["properties"])
    documented = _schema("PluginManifest")["properties"]
    assert documented == json.loads(served.replace("#/$defs/", "#/components/schemas/"))


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        ("TenantOut", "status", {"active", "offboarded"}),
        ("OperationOut", "status", {"pending", "succeeded", "failed"}),
        ("OperationOut", "kind", {"provision", "offboard", "subscribe"}),
        ("StepOut", "status", {"pending", "done"}),
        ("PluginVersionOut", "status", {"validating", "published", "revoked"}),
        ("SubscriptionOut", "status", {"active", "removed"}),
        ("OperationRef", "status", {"pending", "succeeded"}),
        ("TenantOut", "tier", {"pool", "silo", "dedicated"}),
    ],
)
def test_statuses_are_enums(model: str, field: str, values: set[str]) -> None:
    schema = _resolve(_schema(model)["properties"][field])
    assert values <= set(schema["enum"]), schema


def test_retention_is_typed() -> None:
    retention = _resolve(_schema("TenantOut")["properties"]["retention"])
    assert retention["properties"]["keep_data_days"]["type"] == "integer"
    offboard = _resolve(_schema("OffboardRequest")["properties"]["retention"])
    assert offboard["properties"]["keep_data_days"]["type"] == "integer"
    assert offboard["additionalProperties"] is False


def test_each_operation_declares_the_credential_it_takes() -> None:
    schemes = _document()["components"]["securitySchemes"]
    assert set(schemes) == {"KeycloakToken", "StorageGrant"}
    assert "Keycloak" in schemes["KeycloakToken"]["description"]
    assert "gateway" in schemes["StorageGrant"]["description"]
    open_paths = {"/readyz", "/v1/plugins/manifest-schema"}
    for method, path, operation in _operations():
        if path in open_paths:
            assert "security" not in operation, path
        elif path == "/v1/storage/credentials":
            assert operation["security"] == [{"StorageGrant": []}]
        else:
            assert operation["security"] == [{"KeycloakToken": []}], (method, path)


def test_errors_are_problems_of_one_type_scheme() -> None:
    problem = _schema("Problem")
    assert problem["properties"]["type"]["pattern"] == "^urn:taas:problem:[a-z][a-z0-9-]*$"
    assert problem_body(404, "gone")["type"] == "urn:taas:problem:not-found"
    assert problem_body(422, "bad")["type"] == "urn:taas:problem:validation"
    _, _, payload = problem_response(
        Rejection(403, "not-subscribed", "no", hint="subscribe"), "req-1"
    )
    assert json.loads(payload)["type"] == "urn:taas:problem:not-subscribed"
    assert {"not-subscribed", "not-found"} <= KINDS.keys()


def test_the_control_plane_answers_with_the_documented_types(
    api: Any, operator: dict[str, str]
) -> None:
    missing = api.get("/v1/tenants/no-such-bank", headers=operator)
    assert (missing.status_code, missing.json()["type"]) == (404, "urn:taas:problem:not-found")
    anonymous = api.get("/v1/tenants")
    assert anonymous.json()["type"] == "urn:taas:problem:unauthorized"
    invalid = api.post("/v1/tenants", json={"slug": 1}, headers=operator)
    assert invalid.json()["type"] == "urn:taas:problem:validation"
