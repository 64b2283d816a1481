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


def test_plugin_api_ranges() -> None:
    assert plugin_api_compatible(">=1.0,<2")
    assert plugin_api_compatible("~=1.0")
    assert not plugin_api_compatible(">=2")
    assert manifest_json_schema()["properties"]["capability"]
