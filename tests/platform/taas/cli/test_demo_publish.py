"""`taas demo`'s publish step recovers when a demo module version has been revoked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog_support import VendorAccount, revoke
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import unique_slug
from taas.cli.demo_platform import _build, ensure_subscribed, publish, version_to_publish
from taas.cli.session import ApiClient
from taas.kit.errors import TaasError


def test_a_revoked_version_is_followed_by_the_next_patch_version() -> None:
    rows = {"1.0.0": {"status": "revoked"}, "0.9.0": {"status": "published"}}
    assert version_to_publish("m", "1.0.0", rows) == "1.0.1"
    rows["1.0.1"] = {"status": "revoked"}
    assert version_to_publish("m", "1.0.0", rows) == "1.0.2"
    rows["1.0.2"] = {"status": "published"}
    assert version_to_publish("m", "1.0.0", rows) == "1.0.2"  # what an earlier run shipped
    assert version_to_publish("m", "2.0.0", rows) == "2.0.0"  # not submitted yet


def test_a_suspended_or_rejected_version_says_exactly_what_to_do() -> None:
    with pytest.raises(TaasError) as suspended:
        version_to_publish("m", "1.0.0", {"1.0.0": {"status": "suspended"}})
    assert "taas plugins resume m 1.0.0" in str(suspended.value)
    with pytest.raises(TaasError) as rejected:
        version_to_publish("m", "1.0.0", {"1.0.0": {"status": "rejected"}})
    assert "bumps its version" in str(rejected.value)


def test_the_demo_publishes_the_next_version_after_a_revoke(
    api_server: str,
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    vendor = make_vendor()
    bank = make_tenant()["tenant"]
    name = unique_slug("p")
    token = operator["Authorization"].split()[1]
    as_operator = ApiClient(base_url=api_server, token=token)
    as_vendor = ApiClient(base_url=api_server, token=vendor.headers()["Authorization"].split()[1])
    behaviour = PluginBehaviour(signing_secret=vendor.credentials["signing_secret"])
    with PluginServer(behaviour) as plugin:
        first = manifest(name, "1.0.0", plugin.url)
        assert publish(as_operator, as_vendor, vendor.slug, dict(first), "demo") == "1.0.0"
        ensure_subscribed(as_operator, bank, name, "1.0.0")
        revoke(api, operator, operator2, name, "1.0.0")
        path = f"/v1/tenants/{bank['id']}/subscriptions/{name}"
        stranded = api.get(path, headers=operator).json()
        assert stranded["version"] == "1.0.0"
        assert "no published version" in stranded["notice"]
        # the run that used to stop at "1.0.0 is revoked" now ships 1.0.1, and the bank's
        # stable subscription moves to it
        assert publish(as_operator, as_vendor, vendor.slug, dict(first), "demo") == "1.0.1"
        ensure_subscribed(as_operator, bank, name, "1.0.1")
        moved = api.get(path, headers=operator).json()
        assert (moved["version"], moved["status"]) == ("1.0.1", "active")
        # ... and a later run uses it
        assert publish(as_operator, as_vendor, vendor.slug, dict(first), "demo") == "1.0.1"
    published = api.get(f"/v1/plugins/{name}/versions/1.0.1", headers=operator).json()
    assert published["status"] == "published"


def test_a_build_with_other_resources_is_another_build() -> None:
    image = {"image": "r/m@sha256:" + "0" * 64, "port": 8080}
    stored = {"upstream": image, "resources": {"cpu": "25m", "cpu_limit": "100m",
              "memory": "128Mi", "replicas": 1, "max_replicas": None}}  # fmt: skip
    printed = {"upstream": image, "resources": {"cpu": "100m", "memory": "128Mi"}}
    assert _build(stored) != _build(printed)
    same = {"upstream": image, "resources": {"cpu": "100m", "memory": "128Mi", "replicas": 1}}
    assert _build(same) == _build(printed)
    url = {"upstream": {"url": "http://127.0.0.1:1/"}}
    assert _build(url) == _build({"upstream": {"url": "http://127.0.0.1:1"}})
