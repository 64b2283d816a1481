"""The provisioning saga under failure: injected faults in every step, a worker killed
mid-step and an unreachable Keycloak. Each case ends active, or failed with nothing left
behind in any system."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import Worker
from support import spec_of_json, unique_slug, wait_for, wait_operation
from taas.integrations.systems import systems
from taas.operations import faults
from taas.tenants.plans import PROVISION

Headers = dict[str, str]
STEPS = [step.name for step in PROVISION]


def _steps(api: Any, headers: Headers, tenant_id: str) -> dict[str, dict[str, Any]]:
    operation = api.get(f"/v1/tenants/{tenant_id}/operations", headers=headers).json()[0]
    return {step["name"]: step for step in operation["steps"]}


def _nothing_left(spec: Any) -> None:
    s = systems()
    assert not s.kubernetes.namespace_exists(spec), "namespace orphaned"
    assert s.postgres.exists(spec) == {"role": False, "database": False, "schema": False}
    assert s.storage.exists(spec) == {"bucket": False, "identity": False}
    assert not any(s.identity.exists(spec).values()), "identity orphaned"


@pytest.mark.parametrize("step", STEPS)
def test_a_permanent_failure_fails_the_tenant_and_undoes_everything(
    step: str, api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    slug = unique_slug()
    faults.inject(slug, step, "permanent")
    accepted = make_tenant(wait=False, slug=slug)
    tenant_id = accepted["tenant"]["id"]
    operation = wait_operation(api, operator, tenant_id, accepted["operation"]["id"])
    assert operation["status"] == "failed"
    assert step in operation["error"]
    assert "injected permanent fault" in operation["error"]
    tenant = api.get(f"/v1/tenants/{tenant_id}", headers=operator).json()
    assert tenant["status"] == "failed"
    assert step in tenant["status_reason"]
    steps = {s["name"]: s for s in operation["steps"]}
    assert steps[step]["status"] == "failed"
    before = STEPS[: STEPS.index(step)]
    assert all(steps[name]["status"] == "undone" for name in before)
    _nothing_left(spec_of_json(tenant))

    # after the cause is gone, a retry converges to active
    retried = api.post(f"/v1/tenants/{tenant_id}/retry", headers=operator)
    assert retried.status_code == 202, retried.text
    assert (
        wait_operation(api, operator, tenant_id, retried.json()["operation"]["id"])["status"]
        == "succeeded"
    )
    assert api.get(f"/v1/tenants/{tenant_id}", headers=operator).json()["status"] == "active"


@pytest.mark.parametrize("step", STEPS)
def test_temporary_failures_are_retried_with_backoff(
    step: str, api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    slug = unique_slug()
    faults.inject(slug, step, "temporary", times=2)
    accepted = make_tenant(wait=False, slug=slug)
    operation = wait_operation(api, operator, accepted["tenant"]["id"], accepted["operation"]["id"])
    assert operation["status"] == "succeeded", operation
    steps = {s["name"]: s for s in operation["steps"]}
    assert steps[step]["attempts"] == 3
    assert all(steps[name]["attempts"] == 1 for name in STEPS if name != step)


def test_a_worker_killed_mid_step_is_resumed_and_the_tenant_converges(
    api: Any, operator: Headers, worker: Worker, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    slug = unique_slug()
    faults.inject(slug, "minio.bucket", "sleep", seconds=30)
    accepted = make_tenant(wait=False, slug=slug)
    tenant_id = accepted["tenant"]["id"]
    wait_for(
        lambda: _steps(api, operator, tenant_id)["minio.bucket"]["status"] == "running",
        what="the bucket step to start",
    )
    worker.kill()  # SIGKILL the worker and its pool mid-step
    worker.start()
    operation = wait_operation(api, operator, tenant_id, accepted["operation"]["id"], timeout=120)
    assert operation["status"] == "succeeded", operation
    steps = {s["name"]: s for s in operation["steps"]}
    # the killed attempt, then the resumed one
    assert steps["minio.bucket"]["attempts"] == 2, operation
    assert api.get(f"/v1/tenants/{tenant_id}", headers=operator).json()["status"] == "active"
