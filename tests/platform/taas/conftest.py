"""Fixtures of the open-platform tests (plugins, catalog, subscriptions, usage): a running
plugin, and a way to publish it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from catalog_support import VendorAccount, wait_version
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import unique_slug


@pytest.fixture
def plugin() -> Iterator[PluginServer]:
    with PluginServer(PluginBehaviour()) as server:
        yield server


@pytest.fixture
def publish(
    api: Any, operator: dict[str, str], make_vendor: Callable[[], VendorAccount]
) -> Callable[..., str]:
    """Submit, validate and approve a plugin version; returns the module name."""
    vendor = make_vendor()

    def run(
        server: PluginServer, version: str = "1.0.0", name: str | None = None, **fields: Any
    ) -> str:
        server.behaviour.signing_secret = vendor.credentials["signing_secret"]
        name = name or unique_slug("p")
        body = manifest(name, version, server.url, **fields)
        submitted = api.post(
            f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers()
        )
        assert submitted.status_code == 202, submitted.text
        validated = wait_version(api, operator, name, version, {"validated", "invalid"})
        assert validated["status"] == "validated", validated["validation"]
        approved = api.post(
            f"/v1/plugins/{name}/versions/{version}/approve", json={}, headers=operator
        )
        assert approved.status_code == 200, approved.text
        return name

    return run
