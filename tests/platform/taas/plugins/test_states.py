"""The plugin-version lifecycle rules (pure logic)."""

from __future__ import annotations

import pytest

from taas.plugins.states import IllegalPluginTransition, PluginStatus, check_plugin_transition


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
