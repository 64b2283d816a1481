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

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from backend_scan import scan
from catalog_support import VendorAccount, wait_version
from conftest import RUN_DIR, ControlPlane, Worker
from crash_drill import Drill
from crash_matrix import PLANS, Case, Outcome, matrix, write_table
from outage_proxy import OutageProxy, env_through, start_proxies
from plugin_app import PluginBehaviour, PluginServer, manifest
from taas.operations.plans import plan_for
from taas.wiring import wire

RUN_PREFIX = f"k{uuid.uuid4().hex[:4]}"  # every tenant of this run: what the scans look at
OUTCOMES: list[Outcome] = []


@pytest.fixture(scope="module")
def proxies(control_plane: ControlPlane) -> Iterator[dict[str, OutageProxy]]:
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


def _publish(api: Any, operator: dict[str, str], server: PluginServer) -> str:
    """A vendor's module, versions 1.0.0 and 1.1.0, validated and approved."""
    slug = f"v{RUN_PREFIX}"
    created = api.post(
        "/v1/vendors",
        json={"slug": slug, "display_name": "Drill Vendor", "contact_email": "dev@example.com"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    vendor = VendorAccount(slug, created.json()["credentials"])
    server.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = f"m{RUN_PREFIX}"
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
    return name


@pytest.fixture(scope="module")
def drill(
    api: Any,
    control_plane: ControlPlane,
    drill_worker: Worker,
    proxies: dict[str, OutageProxy],
) -> Iterator[Drill]:
    with PluginServer(PluginBehaviour()) as server:
        module = _publish(api, control_plane.headers("test-operator"), server)
        yield Drill(api, control_plane, drill_worker, proxies, module, RUN_PREFIX)


def test_the_matrix_names_every_step_of_every_registered_plan() -> None:
    wire()
    assert {kind: tuple(plan_for(kind).step_names()) for kind in PLANS} == PLANS


@pytest.mark.parametrize("case", matrix(), ids=lambda case: case.id)
def test_an_operation_recovers_from_the_fault_and_leaves_nothing_behind(
    case: Case, drill: Drill
) -> None:
    OUTCOMES.append(drill.run(case))


def test_no_backend_holds_an_orphan_or_a_duplicate_and_the_table_is_written(
    drill: Drill, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = [str(finding) for finding in scan(RUN_PREFIX)]
    text = write_table(OUTCOMES, RUN_DIR / "crash-safety.md", findings)
    with capsys.disabled():
        print(f"\n\nCrash safety ({os.environ.get('TAAS_CRASH_MATRIX', 'reduced')} matrix)\n")
        print(text)
    assert findings == []
