"""What the catalog shows (pure logic)."""

from __future__ import annotations

from taas.catalog.service import stable_version
from taas.plugins.models import PluginVersion


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
