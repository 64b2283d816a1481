"""Every model the API accepts is strict: nothing is coerced into what the caller did not say.

A lax model once read ``{"retention": {"keep_data_days": false}}`` as "keep nothing" and
offboarding destroyed a tenant's data. Booleans, numeric strings and floats are refused
where an integer is meant, with a 422 problem and nothing changed.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from taas.kit.schemas import StrictInput
from taas.plugins.manifest import PluginManifest

Headers = dict[str, str]
PROBLEM = "application/problem+json"
NOT_INTEGERS = [False, True, "0", "30", 0.0, 30.0, None, [], {}]


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _request_models() -> set[type[BaseModel]]:
    from taas.audit import endpoints as audit
    from taas.catalog import endpoints as catalog
    from taas.plugins import endpoints as plugins
    from taas.subscriptions import endpoints as subscriptions
    from taas.tenants import endpoints as tenants
    from taas.usage import endpoints as usage

    routers = [tenants.router, audit.router, plugins.vendors, plugins.plugins, catalog.catalog]
    routers += [subscriptions.subscriptions, subscriptions.storage]
    routers += [usage.tenant_usage_router, usage.vendor_usage_router]
    found: set[type[BaseModel]] = {PluginManifest}
    for route in (route for router in routers for route in router.routes):
        if isinstance(route, APIRoute):
            for param in route.dependant.body_params:
                found.update(_models_in(param.field_info.annotation))
    return {model for root in found for model in _models_in(root)}


REQUEST_MODELS = sorted(_request_models(), key=lambda model: model.__name__)


def test_the_request_models_are_found() -> None:
    names = {model.__name__ for model in REQUEST_MODELS}
    assert {"TenantCreate", "OffboardRequest", "Retention", "SubscriptionCreate"} <= names
    assert {"PluginManifest", "Upstream", "VendorCreate", "Review", "Reason"} <= names


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda model: model.__name__)
def test_every_request_model_is_strict_and_closed(model: type[BaseModel]) -> None:
    assert issubclass(model, StrictInput)
    assert model.model_config.get("strict") is True
    assert model.model_config.get("extra") == "forbid"


def _enum_of(annotation: Any) -> type[Enum] | None:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, typing.Annotated):
        for argument in typing.get_args(annotation):
            if (found := _enum_of(argument)) is not None:
                return found
    return None


def _enum_fields() -> list[tuple[type[BaseModel], str, type[Enum]]]:
    fields = []
    for model in REQUEST_MODELS:
        for name, field in model.model_fields.items():
            if (enum := _enum_of(field.annotation)) is not None:
                fields.append((model, name, enum))
    return fields


@pytest.mark.parametrize(
    ("model", "name", "enum"), _enum_fields(), ids=lambda v: getattr(v, "__name__", str(v))
)
def test_enums_are_taken_as_the_strings_json_sends(
    model: type[BaseModel], name: str, enum: type[Enum]
) -> None:
    """Strict pydantic takes only enum instances in Python mode (how FastAPI validates a
    decoded body); enum fields must still take their JSON values, and nothing else."""
    adapter_field = model.__pydantic_validator__
    for member in enum:
        value = [member.value] if _is_list(model, name) else member.value
        adapter_field.validate_assignment(model.model_construct(), name, value)
    with pytest.raises(ValidationError):
        adapter_field.validate_assignment(model.model_construct(), name, 1)


def _is_list(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return typing.get_origin(annotation) is list


@pytest.mark.parametrize("days", NOT_INTEGERS, ids=repr)
def test_retention_days_must_be_an_integer(days: Any) -> None:
    from taas.tenants.schemas import OffboardRequest

    with pytest.raises(ValidationError, match="keep_data_days"):
        OffboardRequest.model_validate({"retention": {"keep_data_days": days}})


def test_offboarding_with_a_coercible_retention_is_refused_and_changes_nothing(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    before = api.get(f"/v1/tenants/{tenant['id']}/operations", headers=operator).json()
    for days in (False, True, "0", "30", 0.0):
        response = api.post(
            f"/v1/tenants/{tenant['slug']}/offboard",
            json={"retention": {"keep_data_days": days}},
            headers=operator,
        )
        assert response.status_code == 422, (days, response.text)
        assert response.headers["content-type"] == PROBLEM
        locs = [".".join(error["loc"]) for error in response.json()["errors"]]
        assert any(loc.endswith("retention.keep_data_days") for loc in locs), locs
    after = api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()
    assert after["status"] == "active"
    assert after["offboarded_at"] is None
    assert api.get(f"/v1/tenants/{tenant['id']}/operations", headers=operator).json() == before


BANK = {"slug": "ok-slug", "display_name": "x", "region": "r"}
SUBSCRIPTIONS = "/v1/tenants/t-x/subscriptions"
APPROVE = "/v1/plugins/p-x/versions/1.0.0/approve"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", SUBSCRIPTIONS, {"module": "m", "rate_limit_rps": True}, "rate_limit_rps"),
        ("post", SUBSCRIPTIONS, {"module": "m", "monthly_quota": "100"}, "monthly_quota"),
        ("patch", f"{SUBSCRIPTIONS}/m", {"rate_limit_rps": True}, "rate_limit_rps"),
        ("patch", f"{SUBSCRIPTIONS}/m", {"rate_limit_rps": 5.0}, "rate_limit_rps"),
        ("post", "/v1/tenants", {**BANK, "object_lock": 1}, "object_lock"),
        ("post", "/v1/tenants", {**BANK, "quotas": {"storage_gb": "10"}}, "storage_gb"),
        ("patch", "/v1/tenants/t-x", {"quotas": {"requests_per_second": True}}, "quotas"),
        ("post", APPROVE, {"publish": "false"}, "publish"),
        ("post", APPROVE, {"publish": 0}, "publish"),
        ("post", "/v1/tenants/t-x/suspend", {"reason": 5}, "reason"),
    ],
)
def test_coercible_values_are_refused_everywhere(
    api: Any, operator: Headers, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.request(method, path, json=body, headers=operator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert any(field in ".".join(error["loc"]) for error in response.json()["errors"])


def test_a_strict_manifest_refuses_a_string_port_but_takes_enum_strings() -> None:
    manifest: dict[str, Any] = {
        "name": "strict-demo",
        "version": "1.0.0",
        "plugin_api": ">=1.0,<2",
        "capability": "risk",
        "summary": "s",
        "upstream": {"url": "http://127.0.0.1:9/", "port": 8080},
        "openapi": {"openapi": "3.1.0"},
        "data": {"personal_data": ["identity", "financial"]},
        "pricing": {"per_call": 1},
    }
    parsed = PluginManifest.model_validate(manifest)
    assert (parsed.capability, parsed.pricing.per_call) == ("risk", 1.0)
    for path, bad in [(("upstream", "port"), "8080"), (("resources", "replicas"), True)]:
        broken = {**manifest, path[0]: {**manifest.get(path[0], {}), path[1]: bad}}
        with pytest.raises(ValidationError, match=path[1]):
            PluginManifest.model_validate(broken)
