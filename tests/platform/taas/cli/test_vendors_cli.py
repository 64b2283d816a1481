"""`taas vendors disable|enable|delete` against the API over HTTP."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from catalog_support import VendorAccount
from conftest import ControlPlane
from support import run_cli


def test_an_operator_disables_enables_and_deletes_a_vendor(
    api_server: str,
    taas: Callable[..., subprocess.CompletedProcess[str]],
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
) -> None:
    operator = control_plane.token("test-operator")
    vendor = make_vendor()

    disabled = run_cli(api_server, operator, "vendors", "disable", vendor.slug, "--reason", "audit")
    assert disabled.returncode == 0, disabled.stderr
    assert f"vendor {vendor.slug} is disabled" in disabled.stdout
    listed = run_cli(api_server, operator, "vendors", "list")
    assert "disabled" in row_of(listed.stdout, vendor)
    enabled = run_cli(api_server, operator, "vendors", "enable", vendor.slug)
    assert enabled.returncode == 0, enabled.stderr
    assert f"vendor {vendor.slug} is active" in enabled.stdout

    token = vendor.headers()["Authorization"].removeprefix("Bearer ")
    own = run_cli(api_server, token, "vendors", "disable", vendor.slug)
    assert own.returncode == 1
    assert "403" in own.stderr

    kept = taas("vendors", "delete", vendor.slug, input="n\n", TAAS_TOKEN=operator)
    assert kept.returncode == 1
    assert "Aborted" in kept.stdout + kept.stderr
    assert "active" in run_cli(api_server, operator, "vendors", "list").stdout

    asked = run_cli(
        api_server, operator, "vendors", "delete", vendor.slug, "--yes", "--reason", "gone"
    )
    assert asked.returncode == 0, asked.stderr
    assert "waits for a second operator" in asked.stdout
    approval = re.search(r"request ([0-9a-f-]{36})", asked.stdout)
    assert approval is not None, asked.stdout
    assert f"taas approvals approve {approval[1]}" in asked.stdout
    # Asking alone deletes nothing.
    assert "active" in row_of(run_cli(api_server, operator, "vendors", "list").stdout, vendor)
    own = run_cli(api_server, operator, "approvals", "approve", approval[1])
    assert own.returncode == 1
    assert "409" in own.stderr

    second = control_plane.token("test-operator-2")
    deleted = run_cli(api_server, second, "approvals", "approve", approval[1])
    assert deleted.returncode == 0, deleted.stderr
    assert f"vendor {vendor.slug} is deleted" in deleted.stdout
    assert "deleted" in row_of(run_cli(api_server, operator, "vendors", "list").stdout, vendor)
    again = run_cli(api_server, operator, "vendors", "delete", vendor.slug, "--yes")
    assert again.returncode == 0, again.stderr
    assert f"vendor {vendor.slug} is already deleted" in again.stdout
    back = run_cli(api_server, operator, "vendors", "enable", vendor.slug)
    assert back.returncode == 1
    assert "409" in back.stderr
    assert "taas vendors create" in back.stderr


def row_of(table: str, vendor: VendorAccount) -> str:
    return next(line for line in table.splitlines() if vendor.slug in line)
