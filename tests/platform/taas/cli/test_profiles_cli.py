"""`taas login`, `taas vendors login` and `taas profiles`: several named logins at once."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from catalog_support import VendorAccount
from conftest import ControlPlane
from support import run_cli

Taas = Callable[..., subprocess.CompletedProcess[str]]


def test_operator_and_vendor_logins_live_side_by_side(
    taas: Taas,
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
    tmp_path: Path,
) -> None:
    vendor = make_vendor()
    logged_in = taas(
        "login",
        "--username",
        "test-operator",
        "--password",
        control_plane.passwords["test-operator"],
    )
    assert logged_in.returncode == 0, logged_in.stderr
    assert "profile test-operator is current" in logged_in.stdout
    vendor_login = taas(
        "vendors",
        "login",
        vendor.credentials["client_id"],
        "--token-url",
        vendor.credentials["token_url"],
        TAAS_VENDOR_SECRET=vendor.credentials["client_secret"],
    )
    assert vendor_login.returncode == 0, vendor_login.stderr
    client = vendor.credentials["client_id"]
    assert f"profile {client} is current" in vendor_login.stdout

    # The vendor login did not replace the operator's: both are kept, the vendor's current.
    listed = taas("profiles", "list")
    assert listed.returncode == 0, listed.stderr
    assert "test-operator" in listed.stdout
    assert f"* │ {client}" in listed.stdout.replace("┃", "│")
    stored = json.loads((tmp_path / "profiles.json").read_text())
    assert set(stored["profiles"]) == {"test-operator", client}
    assert (tmp_path / "profiles.json").stat().st_mode & 0o077 == 0

    as_vendor = taas("vendors", "list")  # operators only
    assert as_vendor.returncode == 1
    assert "403" in as_vendor.stderr
    as_operator = taas("--profile", "test-operator", "vendors", "list")
    assert as_operator.returncode == 0, as_operator.stderr
    assert vendor.slug in as_operator.stdout
    by_env = taas("vendors", "list", TAAS_PROFILE="test-operator")
    assert by_env.returncode == 0, by_env.stderr

    used = taas("profiles", "use", "test-operator")
    assert used.returncode == 0, used.stderr
    assert taas("vendors", "list").returncode == 0
    own = taas("--profile", client, "vendors", "usage", vendor.slug)
    assert own.returncode == 0, own.stderr

    removed = taas("profiles", "remove", client)
    assert removed.returncode == 0, removed.stderr
    assert client not in taas("profiles", "list").stdout
    unknown = taas("--profile", client, "vendors", "list")
    assert unknown.returncode == 1
    assert f"no profile named '{client}'" in unknown.stderr
    assert "taas login --profile" in unknown.stderr


def test_an_expired_login_is_renewed_or_names_the_command_that_renews_it(
    taas: Taas,
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
    tmp_path: Path,
) -> None:
    password = control_plane.passwords["test-operator"]
    assert taas("login", "--username", "test-operator", "--password", password).returncode == 0
    vendor = make_vendor()
    client = vendor.credentials["client_id"]
    assert (
        taas(
            "vendors",
            "login",
            client,
            "--token-url",
            vendor.credentials["token_url"],
            "--profile",
            "acme",
            TAAS_VENDOR_SECRET=vendor.credentials["client_secret"],
        ).returncode
        == 0
    )
    path = tmp_path / "profiles.json"
    stored = json.loads(path.read_text())
    old_token = stored["profiles"]["test-operator"]["access_token"]
    for profile in stored["profiles"].values():
        profile["expires_at"] = time.time() - 1
    path.write_text(json.dumps(stored))

    renewed = taas("--profile", "test-operator", "vendors", "list")
    assert renewed.returncode == 0, renewed.stderr
    after = json.loads(path.read_text())["profiles"]["test-operator"]
    assert after["access_token"] != old_token
    assert after["expires_at"] > time.time()

    expired = taas("--profile", "acme", "plugins", "list")
    assert expired.returncode == 1
    assert "expired" in expired.stderr
    assert f"taas vendors login {client} --token-url" in expired.stderr
    assert "--profile acme" in expired.stderr


def test_a_login_kept_by_an_older_cli_becomes_a_profile(
    taas: Taas,
    control_plane: ControlPlane,
    tmp_path: Path,
) -> None:
    legacy = tmp_path / "token.json"
    legacy.write_text(
        json.dumps(
            {
                "access_token": control_plane.token("test-operator"),
                "expires_in": 300,
                "expires_at": time.time() + 240,
                "username": "test-operator",
                "realm": "taas-platform",
            }
        )
    )
    listed = taas("vendors", "list")
    assert listed.returncode == 0, listed.stderr
    assert not legacy.exists()
    stored = json.loads((tmp_path / "profiles.json").read_text())
    assert stored["current"] == "test-operator"
    assert "test-operator" in taas("profiles", "list").stdout


def test_not_logged_in_names_a_command_that_exists(
    taas: Taas,
) -> None:
    result = taas("tenants", "list")
    assert result.returncode == 1
    assert "not logged in" in result.stderr
    assert "taas login" in result.stderr
    assert taas("login", "--help").returncode == 0


def test_a_422_lists_every_invalid_field(
    api_server: str,
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
    tmp_path: Path,
) -> None:
    operator = control_plane.token("test-operator")
    tier = run_cli(api_server, operator, "tenants", "create", "bad-tier-bank", "--tier", "gold")
    assert tier.returncode == 1
    assert "422" in tier.stderr
    assert "body.tier: Input should be 'pool', 'silo' or 'dedicated'" in tier.stderr

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"name": "Not A Name", "version": "1"}))
    slug = make_vendor().slug
    submitted = run_cli(api_server, operator, "plugins", "submit", str(path), "--vendor", slug)
    assert submitted.returncode == 1
    assert "422" in submitted.stderr
    for field in ("name:", "version:", "capability:", "upstream:"):
        assert field in submitted.stderr, submitted.stderr


def test_a_refused_token_names_the_login_that_renews_its_profile(
    taas: Taas, tmp_path: Path
) -> None:
    (tmp_path / "profiles.json").write_text(
        json.dumps(
            {
                "current": "ops",
                "profiles": {
                    "ops": {
                        "access_token": "not-a-token",
                        "expires_at": time.time() + 240,
                        "username": "alice",
                        "realm": "taas-platform",
                    }
                },
            }
        )
    )
    refused = taas("vendors", "list")
    assert refused.returncode == 1
    assert "401" in refused.stderr
    assert "taas login --username alice --profile ops" in refused.stderr
