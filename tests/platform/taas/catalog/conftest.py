"""Fixtures of the open platform: a vendor with its credentials, and a running plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from catalog_support import VendorAccount
from plugin_app import PluginBehaviour, PluginServer
from support import unique_slug


@pytest.fixture
def make_vendor(api: Any, operator: dict[str, str]) -> Callable[[], VendorAccount]:
    def make() -> VendorAccount:
        slug = unique_slug("v")
        response = api.post(
            "/v1/vendors",
            json={"slug": slug, "display_name": "Test Vendor", "contact_email": "dev@example.com"},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        return VendorAccount(slug, response.json()["credentials"])

    return make


@pytest.fixture
def plugin() -> Iterator[PluginServer]:
    with PluginServer(PluginBehaviour()) as server:
        yield server
