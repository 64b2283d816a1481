"""Crash safety, proven: for each case of the matrix (plan x step x fault, see
``crash_matrix``), the worker is killed at the step (SIGKILL, before it, during it, after it
before its result is recorded) or an outside system is taken away while it runs; after
recovery the operation has succeeded, or failed cleanly and was completed by a retry, and
no backend holds an orphan or a duplicate of the tenant.

The worker under test reaches PostgreSQL, Redis, Keycloak, MinIO and the kube-apiserver
through loopback proxies of its own (``outage_proxy``): an outage here is a proxy refusing
connections, so the shared servers and their other users are never touched. The table of
outcomes is printed and written to ``<TAAS_TEST_RUN_DIR>/crash-safety.md``.
``TAAS_CRASH_MATRIX=full`` runs the full matrix (docs/crash-safety.md).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from backend_scan import module_prefix, scan
from catalog_support import VendorAccount, wait_version
from conftest import RUN_DIR, ControlPlane, Worker
from crash_drill import Drill
from crash_matrix import PLANS, Case, Outcome, append_row, matrix, write_table
from crash_plugins import Validations
from outage_proxy import OutageProxy, env_through, start_proxies
from plugin_app import PluginBehaviour, PluginServer, manifest
from taas.integrations.systems import systems
from taas.kit.settings import app_settings
from taas.operations.plans import kinds, plan_for
from taas.plugins.contract import (
    SANDBOX,
    STS_MIN_DURATION_S,
    cut_sandbox_storage,
    sandbox_secret,
)
from taas.wiring import wire

RUN_PREFIX = f"k{uuid.uuid4().hex[:4]}"  # every tenant of this run: what the scans look at
OUTCOMES: list[Outcome] = []
ROWS = RUN_DIR / "crash-safety-rows.md"  # one line per case, written as the run goes


@pytest.fixture(scope="module")
def proxies(control_plane: ControlPlane) -> Iterator[dict[str, OutageProxy]]:
    ROWS.unlink(missing_ok=True)
    started = start_proxies(dict(os.environ))
    yield started
    for proxy in started.values():
        proxy.close()


@pytest.fixture(scope="module")
def drill_worker(worker: Worker, proxies: dict[str, OutageProxy]) -> Iterator[Worker]:
    """The only worker while the drills run: the session's is stopped, then restarted."""
    env = env_through(proxies, dict(os.environ), RUN_DIR / "crash-kubeconfig")
    drilled = Worker(env=env, name="crash-worker")
    worker.stop()
    try:
        drilled.start()
        yield drilled
    finally:
        drilled.stop()
        worker.start()


def _publish(api: Any, operator: dict[str, str], server: PluginServer) -> tuple[str, VendorAccount]:
    """A vendor's module, versions 1.0.0 and 1.1.0, validated and approved; and the vendor."""
    slug = f"v{RUN_PREFIX}"
    created = api.post(
        "/v1/vendors",
        json={"slug": slug, "display_name": "Drill Vendor", "contact_email": "dev@example.com"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    vendor = VendorAccount(slug, created.json()["credentials"])
    server.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = module_prefix(RUN_PREFIX)
    for version in ("1.0.0", "1.1.0"):
        submitted = api.post(
            f"/v1/vendors/{slug}/plugins",
            json=manifest(name, version, server.url, scopes=[f"{name}.read"]),
            headers=vendor.headers(),
        )
        assert submitted.status_code == 202, submitted.text
        validated = wait_version(api, operator, name, version, {"validated", "invalid"})
        assert validated["status"] == "validated", validated["validation"]
        approved = api.post(
            f"/v1/plugins/{name}/versions/{version}/approve", json={}, headers=operator
        )
        assert approved.status_code == 200, approved.text
    return name, vendor


@pytest.fixture(scope="module")
def drill(
    api: Any,
    api_server: str,
    control_plane: ControlPlane,
    drill_worker: Worker,
    proxies: dict[str, OutageProxy],
) -> Iterator[Drill]:
    # the plugin mints sandbox storage credentials while it is checked: the scans look for them
    behaviour = PluginBehaviour(credentials_url=f"{api_server}/v1/storage/credentials")
    with PluginServer(behaviour) as server:
        module, vendor = _publish(api, control_plane.headers("test-operator"), server)
        validations = Validations(api, vendor, server)
        yield Drill(api, control_plane, drill_worker, proxies, module, RUN_PREFIX, validations)


def test_the_matrix_names_every_step_of_every_registered_plan() -> None:
    wire()
    assert sorted(PLANS) == kinds()
    assert {kind: tuple(plan_for(kind).step_names()) for kind in PLANS} == PLANS


@pytest.mark.parametrize("case", matrix(), ids=lambda case: case.id)
def test_an_operation_recovers_from_the_fault_and_leaves_nothing_behind(
    case: Case, drill: Drill
) -> None:
    outcome = Outcome(case, "DRILL FAILED", 0, "", -1)  # the table shows failed cases too
    try:
        outcome = drill.run(case)
    except Exception as exc:
        outcome.detail = " ".join(str(exc).split())[:80]
        raise
    finally:
        OUTCOMES.append(outcome)
        append_row(outcome, ROWS)


def test_the_scan_sees_a_validations_sandbox_identity_left_behind(drill: Drill) -> None:
    """What a validation must end, made on purpose for a module no version of which is
    being checked: the scan reports the identity and its policy as orphans."""
    storage = systems().storage
    secret = sandbox_secret(app_settings().storage_grant_secret)
    storage.ensure(SANDBOX, secret)
    storage.module_credentials(
        SANDBOX, secret, module=drill.module, write=False, duration_s=STS_MIN_DURATION_S
    )
    try:
        (user,) = storage.module_users(SANDBOX, drill.module)
        findings = {str(finding) for finding in scan(RUN_PREFIX)}
        assert f"minio.sandbox_user: orphan {user}" in findings, findings
        assert f"minio.sandbox_policy: orphan {user}-rw" in findings, findings
    finally:
        cut_sandbox_storage(drill.module)


def test_no_backend_holds_an_orphan_or_a_duplicate_and_the_table_is_written(
    drill: Drill, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = [str(finding) for finding in scan(RUN_PREFIX)]
    text = write_table(OUTCOMES, RUN_DIR / "crash-safety.md", findings)
    with capsys.disabled():
        print(f"\n\nCrash safety ({os.environ.get('TAAS_CRASH_MATRIX', 'reduced')} matrix)\n")
        print(text)
    assert findings == []


def test_an_outage_proxy_forwards_refuses_and_swallows() -> None:
    """The proxies the drills rely on, against a loopback echo server."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(target=_echo, args=(listener,), daemon=True).start()
        proxy = OutageProxy("echo", "127.0.0.1", listener.getsockname()[1]).start()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as up:
                up.sendall(b"ping")
                assert up.recv(4) == b"ping"
                proxy.refuse()  # the open connection is cut, new ones are refused
                with contextlib.suppress(ConnectionResetError):
                    assert up.recv(4) == b""
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            proxy.blackhole()  # accepted, then nothing comes back
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as held:
                held.settimeout(0.5)
                held.sendall(b"ping")
                with pytest.raises(TimeoutError):
                    held.recv(4)
            proxy.up()
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as back:
                back.sendall(b"pong")
                assert back.recv(4) == b"pong"
        finally:
            proxy.close()


def _echo(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # the listener was closed: the test is over
            return
        threading.Thread(target=_echo_one, args=(conn,), daemon=True).start()


def _echo_one(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data)
