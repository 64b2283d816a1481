"""Pure logic of the contract check: which example calls an OpenAPI document yields."""

from __future__ import annotations

from typing import Any

from plugin_app import plugin_openapi
from taas.plugins.contract_calls import ContractCall, _schema_errors, contract_calls
from taas.plugins.validation_report import Check


def _calls(document: dict[str, Any]) -> list[ContractCall | Check]:
    return list(contract_calls(document))


def test_named_request_examples_expect_the_response_of_the_same_name() -> None:
    calls = {c.label: c for c in _calls(plugin_openapi()) if isinstance(c, ContractCall)}
    assert calls["POST /score [small-loan]"].expect_status == 200
    assert calls["POST /score [small-loan]"].body == {"amount": 20000}
    assert calls["POST /score [negative]"].expect_status == 422
    assert calls["GET /healthz [default]"].expect_status == 200


def test_parameters_are_filled_from_examples_and_missing_ones_reported() -> None:
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/cards/{card}": {
                "get": {
                    "parameters": [
                        {"name": "card", "in": "path", "required": True, "example": "6222"},
                        {"name": "detail", "in": "query", "schema": {"example": "full"}},
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/loans/{id}": {
                "get": {
                    "parameters": [{"name": "id", "in": "path", "required": True}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
    }
    found = _calls(document)
    call = next(c for c in found if isinstance(c, ContractCall))
    assert (call.path, call.query) == ("/cards/6222", {"detail": "full"})
    missing = next(c for c in found if isinstance(c, Check))
    assert not missing.ok
    assert "no example for id" in missing.detail


def test_a_required_body_without_example_and_no_success_response_fail() -> None:
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/a": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/b": {"get": {"responses": {"404": {"description": "never found"}}}},
        },
    }
    details = {c.name: c.detail for c in _calls(document) if isinstance(c, Check)}
    assert details["contract POST /a"] == "the request body has no example"
    assert "no 2xx" in details["contract GET /b [default]"]


def test_response_schemas_resolve_references_into_components() -> None:
    document = plugin_openapi()
    schema = {"$ref": "#/components/schemas/ScoreIn"}
    assert _schema_errors(document, schema, {"amount": 3}) == []
    errors = _schema_errors(document, schema, {"amount": "three"})
    assert errors
    assert errors[0].startswith("amount:")
    openapi_30 = {**document, "openapi": "3.0.3"}
    nullable = {"type": "string", "nullable": True}
    assert _schema_errors(openapi_30, nullable, None) == []
