"""`taas tenants` and `taas audit` against the API served over HTTP."""

from __future__ import annotations

import re

from conftest import ControlPlane
from support import run_cli as run
from support import unique_slug


def test_the_tenant_lifecycle_from_the_command_line(
    api_server: str, control_plane: ControlPlane
) -> None:
    token = control_plane.token("test-operator")
    slug = unique_slug("cli")
    created = run(api_server, token, "tenants", "create", slug, "--name", "CLI Bank")
    assert created.returncode == 0, created.stderr + created.stdout
    assert "✓ keycloak.identity done" in created.stdout
    assert "provision succeeded" in created.stdout

    listed = run(api_server, token, "tenants", "list")
    assert slug in listed.stdout
    shown = run(api_server, token, "tenants", "show", slug)
    assert '"status": "active"' in shown.stdout

    assert run(api_server, token, "tenants", "suspend", slug).returncode == 0
    again = run(api_server, token, "tenants", "suspend", slug)
    assert again.returncode == 1
    assert "409" in again.stderr
    assert "next:" in again.stderr
    assert run(api_server, token, "tenants", "resume", slug).returncode == 0
    ops = run(api_server, token, "tenants", "ops", slug)
    assert "resume succeeded" in ops.stdout
    assert "suspend succeeded" in ops.stdout

    # Destroying data at once needs a second operator (maker-checker).
    asked = run(api_server, token, "tenants", "offboard", slug, "--keep-days", "0")
    assert asked.returncode == 0, asked.stderr
    assert "waits for a second operator" in asked.stdout
    approval = re.search(r"request ([0-9a-f-]{36})", asked.stdout)
    assert approval is not None, asked.stdout
    pending = run(api_server, token, "approvals", "list")
    assert approval[1] in pending.stdout
    own = run(api_server, token, "approvals", "approve", approval[1])
    assert own.returncode == 1
    assert "409" in own.stderr
    assert "another operator" in own.stderr
    second = control_plane.token("test-operator-2")
    off = run(api_server, second, "approvals", "approve", approval[1])
    assert off.returncode == 0, off.stderr
    assert "offboard succeeded" in off.stdout

    verified = run(api_server, control_plane.token("test-auditor"), "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact" in verified.stdout
    assert "checkpoint" in verified.stdout  # compared with its anchor outside the database


def test_the_cli_says_what_to_do_when_the_api_is_down(control_plane: ControlPlane) -> None:
    result = run("http://127.0.0.1:9", "token", "tenants", "list")
    assert result.returncode == 1
    assert "cannot reach the control plane" in result.stderr
    assert "taas platform up" in result.stderr
