"""Migration 0007 (pure logic): a stored version's pods stay as they were when ``cpu``
became the request: the old figure becomes the limit, a quarter of it the request."""

from __future__ import annotations

import importlib
from typing import Any

migration = importlib.import_module("taas.migrations.versions.0007_manifest_cpu_request")


def test_the_old_cpu_becomes_the_limit_and_a_quarter_of_it_the_request() -> None:
    resources: dict[str, Any] = {"cpu": "1", "memory": "512Mi", "replicas": 1}
    assert migration.rewritten(resources, "up")
    assert resources == {"cpu": "250m", "cpu_limit": "1", "memory": "512Mi", "replicas": 1}
    assert not migration.rewritten(resources, "up")  # once only
    small: dict[str, Any] = {"cpu": "20m"}
    assert migration.rewritten(small, "up")
    assert small == {"cpu": "10m", "cpu_limit": "20m"}


def test_down_gives_the_limit_back_as_cpu_and_odd_manifests_are_left_alone() -> None:
    resources: dict[str, Any] = {"cpu": "250m", "cpu_limit": "1"}
    assert migration.rewritten(resources, "down")
    assert resources == {"cpu": "1"}
    odds: list[object] = [None, [], {"memory": "1Gi"}, {"cpu": 1}]
    for odd in odds:
        assert not migration.rewritten(odd, "up")
