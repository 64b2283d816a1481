"""Celery tasks of the subscriptions domain: reconcile the modules' workloads."""

from __future__ import annotations

from celery import shared_task

from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.subscriptions import reconciler


@shared_task(name="taas.subscriptions.reconcile_workloads")  # type: ignore[untyped-decorator]
def reconcile_workloads() -> int:
    """Repair the workloads of routed subscriptions; remove those nobody subscribes to."""
    with new_session() as session:
        report = reconciler.reconcile_workloads(session, systems())
    return len(report["repaired"]) + len(report["removed"])
