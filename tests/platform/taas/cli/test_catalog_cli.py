"""`taas vendors`, `taas plugins`, `taas catalog` and `taas subscriptions` over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from conftest import ControlPlane
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import run_cli as run
from support import unique_slug


def test_vendor_to_subscription_from_the_command_line(
    api_server: str,
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    operator = control_plane.token("test-operator")
    vendor = unique_slug("v")
    created = run(api_server, operator, "vendors", "create", vendor, "--email", "a@b.example")
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout[created.stdout.index("{") :])
    vendor_token = httpx.post(
        credentials["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
        timeout=15,
    ).json()["access_token"]
    name = unique_slug("p")
    with PluginServer(PluginBehaviour(signing_secret=credentials["signing_secret"])) as plugin:
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps(manifest(name, "1.0.0", plugin.url)))
        submitted = run(
            api_server, vendor_token, "plugins", "submit", str(path), "--vendor", vendor
        )
        assert submitted.returncode == 0, submitted.stderr
        assert "✓ contract POST /score [small-loan]" in submitted.stdout
        assert f"{name} 1.0.0 is validated" in submitted.stdout

        own = run(api_server, vendor_token, "plugins", "approve", name, "1.0.0")
        assert own.returncode == 1
        assert "403" in own.stderr
        approved = run(api_server, operator, "plugins", "approve", name, "1.0.0")
        assert approved.returncode == 0, approved.stderr
        assert "is published" in approved.stdout
        assert name in run(api_server, operator, "catalog").stdout

        tenant = make_tenant()["tenant"]
        added = run(api_server, operator, "subscriptions", "add", tenant["slug"], name)
        assert added.returncode == 0, added.stderr
        assert "subscribe succeeded" in added.stdout
        listed = run(api_server, operator, "subscriptions", "list", tenant["slug"])
        assert f"/t/{tenant['slug']}/{name}/" in listed.stdout
        removed = run(api_server, operator, "subscriptions", "remove", tenant["slug"], name)
        assert "unsubscribe succeeded" in removed.stdout
        suspended = run(api_server, operator, "plugins", "suspend", name, "1.0.0", "--reason", "x")
        assert suspended.returncode == 0, suspended.stderr
        assert "is suspended" in suspended.stdout
        resumed = run(api_server, operator, "plugins", "resume", name, "1.0.0")
        assert "is published" in resumed.stdout
        asked = run(api_server, operator, "plugins", "revoke", name, "1.0.0", "--reason", "x")
        assert asked.returncode == 0, asked.stderr
        assert "waits for a second operator" in asked.stdout
        approval = re.search(r"request ([0-9a-f-]{36})", asked.stdout)
        assert approval is not None, asked.stdout
        second = control_plane.token("test-operator-2")
        revoked = run(api_server, second, "approvals", "approve", approval[1])
        assert revoked.returncode == 0, revoked.stderr
        assert "is revoked" in revoked.stdout
