"""One trace follows an operation from the API request through the worker to every system."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import SPANS
from support import wait_for


def _spans() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SPANS.read_text().splitlines() if line.strip()]


def test_an_operation_is_one_trace_across_api_worker_and_systems(
    api: Any, operator: dict[str, str], make_tenant: Callable[..., dict[str, Any]]
) -> None:
    accepted = make_tenant()
    tenant_id = accepted["tenant"]["id"]
    expected = {
        "operation.provision",
        "step kubernetes.namespace",
        "kubernetes.ensure_tenant",
        "postgres.ensure_tenant",
        "minio.ensure_tenant",
        "keycloak.ensure_tenant",
        "postgres.query",
    }

    def trace_of_create() -> list[dict[str, Any]] | None:
        spans = _spans()
        operation = [
            s
            for s in spans
            if s["name"] == "operation.provision" and s["attributes"].get("tenant.id") == tenant_id
        ]
        if not operation:
            return None
        trace = [s for s in spans if s["trace_id"] == operation[0]["trace_id"]]
        return trace if expected <= {s["name"] for s in trace} else None

    trace = wait_for(trace_of_create, what="the provisioning trace")
    assert {s["service"] for s in trace} == {"taas-api", "taas-worker"}
    for span in trace:
        if span["service"] == "taas-worker":
            assert span["attributes"].get("tenant.id") == tenant_id, span
    ids = {s["span_id"] for s in trace}
    roots = [s for s in trace if s["parent_id"] not in ids]
    assert len(roots) == 1
    assert roots[0]["service"] == "taas-api"
    assert roots[0]["name"] == "POST /v1/tenants"
    assert roots[0]["attributes"]["tenant.id"] == tenant_id
    assert roots[0]["attributes"]["request.id"]
