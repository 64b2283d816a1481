"""The manifest model (pure logic)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plugin_app import manifest
from taas.plugins.manifest import PluginManifest, manifest_json_schema, plugin_api_compatible


def test_a_valid_manifest_is_normalised() -> None:
    body = manifest("loan-check", "1.2.3", "http://127.0.0.1:1", ["b.scope", "a.scope", "a.scope"])
    parsed = PluginManifest.model_validate(body)
    assert parsed.scopes == ["a.scope", "b.scope"]
    assert parsed.data.storage == ["read"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "1.2"),
        ("plugin_api", "one or two"),
        ("name", "Has Spaces"),
        ("capability", "astrology"),
        ("health_path", "healthz"),
        ("timeout_s", 0),
        ("upstream", {}),
        ("unknown_field", 1),
    ],
)
def test_bad_manifests_are_refused(field: str, value: object) -> None:
    body = manifest("loan-check", "1.0.0", "http://127.0.0.1:1")
    body[field] = value
    with pytest.raises(ValidationError):
        PluginManifest.model_validate(body)


@pytest.mark.parametrize(
    "resources",
    [
        {"cpu": "0"},
        {"cpu": "0.0"},
        {"cpu": True},
        {"cpu": "500m", "cpu_limit": "250m"},  # a limit below the request
        {"replicas": 3, "max_replicas": 2},
        {"max_replicas": 21},
        {"max_replicas": True},
        {"cpu_target_percent": 5},
        {"cpu_target_percent": 70.5},
    ],
)
def test_bad_resources_are_refused(resources: dict[str, object]) -> None:
    body = manifest("loan-check", "1.0.0", "http://127.0.0.1:1")
    body["resources"] = resources
    with pytest.raises(ValidationError):
        PluginManifest.model_validate(body)


def test_resources_default_to_one_fixed_replica_with_a_small_request() -> None:
    body = manifest("loan-check", "1.0.0", "http://127.0.0.1:1")
    body["resources"] = {"cpu": "250m", "max_replicas": 4}
    resources = PluginManifest.model_validate(body).resources
    assert (resources.cpu, resources.cpu_limit, resources.memory) == ("250m", None, "128Mi")
    assert (resources.replicas, resources.max_replicas, resources.cpu_target_percent) == (1, 4, 70)


def test_plugin_api_ranges() -> None:
    assert plugin_api_compatible(">=1.0,<2")
    assert plugin_api_compatible("~=1.0")
    assert not plugin_api_compatible(">=2")
    assert manifest_json_schema()["properties"]["capability"]
