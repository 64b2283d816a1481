"""The manifest model and the plugin lifecycle rules (pure logic)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plugin_app import manifest
from taas.catalog.manifest import PluginManifest, manifest_json_schema, plugin_api_compatible
from taas.catalog.models import PluginVersion
from taas.catalog.service import stable_version
from taas.catalog.states import (
    IllegalPluginTransition,
    PluginStatus,
    check_plugin_transition,
)


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


def test_lifecycle_transitions() -> None:
    check_plugin_transition(PluginStatus.VALIDATED, PluginStatus.APPROVED)
    check_plugin_transition(PluginStatus.PUBLISHED, PluginStatus.REVOKED)
    for final in (PluginStatus.INVALID, PluginStatus.REJECTED, PluginStatus.REVOKED):
        with pytest.raises(IllegalPluginTransition):
            check_plugin_transition(final, PluginStatus.PUBLISHED)
    with pytest.raises(IllegalPluginTransition) as refused:
        check_plugin_transition(PluginStatus.SUBMITTED, PluginStatus.APPROVED)
    assert "validating" in (refused.value.hint or "")


def test_suspension_is_reversible_and_revocation_final() -> None:
    for live in (PluginStatus.PUBLISHED, PluginStatus.DEPRECATED):
        check_plugin_transition(live, PluginStatus.SUSPENDED)
        check_plugin_transition(PluginStatus.SUSPENDED, live)
    check_plugin_transition(PluginStatus.SUSPENDED, PluginStatus.REVOKED)
    for never in (PluginStatus.VALIDATED, PluginStatus.APPROVED, PluginStatus.REVOKED):
        with pytest.raises(IllegalPluginTransition):
            check_plugin_transition(never, PluginStatus.SUSPENDED)


def test_the_stable_channel_is_the_newest_published_release() -> None:
    def version(number: str, status: str) -> PluginVersion:
        return PluginVersion(version=number, status=status)

    versions = [
        version("1.2.0", "published"),
        version("1.10.0", "published"),
        version("2.0.0-rc.1", "published"),
        version("3.0.0", "revoked"),
        version("2.5.0", "suspended"),
    ]
    chosen = stable_version(versions)
    assert chosen is not None
    assert chosen.version == "1.10.0"
    assert stable_version([version("1.0.0", "deprecated")]) is None
