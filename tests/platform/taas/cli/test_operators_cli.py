"""`taas operators`: a second operator is added from the command line and reviews what
the first one submitted (four eyes)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog_support import VendorAccount
from conftest import ControlPlane
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import run_cli, unique_slug

Taas = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def username() -> Iterator[str]:
    name = unique_slug("ops")
    yield name
    from taas.integrations.systems import systems

    admin = systems().identity.admin("taas-platform")
    user_id = admin.get_user_id(name)
    if user_id is not None:
        admin.delete_user(user_id)


def test_a_second_operator_is_added_and_reviews_the_first_ones_submission(
    api_server: str,
    taas: Taas,
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
    username: str,
    tmp_path: Path,
) -> None:
    first = control_plane.token("test-operator")
    added = run_cli(api_server, first, "operators", "add", username, "--email", "b@ops.example")
    assert added.returncode == 0, added.stderr
    assert f"{username} is a platform operator" in added.stdout
    temporary = re.search(r"temporary password: (\S+)", added.stdout)
    assert temporary is not None, added.stdout
    assert "/realms/taas-platform/account" in added.stdout
    listed = run_cli(api_server, first, "operators", "list")
    assert re.search(rf"{username} .* operator .* no \(temporary\)", listed.stdout), listed.stdout

    # The CLI's password login needs the temporary password replaced first.
    refused = taas("login", "--username", username, "--password", temporary.group(1))
    assert refused.returncode == 1
    assert "/realms/taas-platform/account" in refused.stderr

    from taas.integrations.systems import systems

    admin = systems().identity.admin("taas-platform")
    user_id = admin.get_user_id(username)
    password = "Own-pass-1-" + uuid.uuid4().hex[:8]
    admin.set_user_password(user_id, password, temporary=False)  # as the account console does
    admin.update_user(user_id, {"requiredActions": []})
    second = taas("login", "--username", username, "--password", password, "--profile", "second")
    assert second.returncode == 0, second.stderr
    first_login = taas(
        "login",
        "--username",
        "test-operator",
        "--password",
        control_plane.passwords["test-operator"],
        "--profile",
        "first",
    )
    assert first_login.returncode == 0

    # The first operator submits a version; only the second may approve it.
    vendor = make_vendor()
    behaviour = PluginBehaviour(signing_secret=vendor.credentials["signing_secret"])
    with PluginServer(behaviour) as plugin:
        name = unique_slug("p")
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps(manifest(name, "1.0.0", plugin.url)))
        submitted = taas("plugins", "submit", str(path), "--vendor", vendor.slug)
        assert submitted.returncode == 0, submitted.stderr
        assert f"{name} 1.0.0 is validated" in submitted.stdout
        own = taas("plugins", "approve", name, "1.0.0")
        assert own.returncode == 1
        assert "four eyes" in own.stderr
        approved = taas("--profile", "second", "plugins", "approve", name, "1.0.0")
        assert approved.returncode == 0, approved.stderr
        assert "is published" in approved.stdout

    yourself = taas("--profile", "second", "operators", "remove", username)
    assert yourself.returncode == 1
    assert "you cannot remove yourself" in yourself.stderr
    removed = taas("--profile", "first", "operators", "remove", username)
    assert removed.returncode == 0, removed.stderr
    assert username not in run_cli(api_server, first, "operators", "list").stdout
