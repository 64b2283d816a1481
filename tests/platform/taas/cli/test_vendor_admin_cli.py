"""`taas vendors disable|enable|delete` against the API over HTTP."""

from __future__ import annotations

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
    assert "disabled" in next(line for line in listed.stdout.splitlines() if vendor.slug in line)
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

    deleted = run_cli(api_server, operator, "vendors", "delete", vendor.slug, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert f"vendor {vendor.slug} deleted" in deleted.stdout
    back = run_cli(api_server, operator, "vendors", "enable", vendor.slug)
    assert back.returncode == 1
    assert "409" in back.stderr
    assert "taas vendors create" in back.stderr
