"""The Celery application shared by the API (to enqueue) and the workers (to run)."""

from __future__ import annotations

import gc
from functools import lru_cache
from typing import Any

from celery import Celery
from celery.signals import worker_init

from taas.kit.settings import app_settings

QUEUE = "taas"


@lru_cache
def celery_app() -> Celery:
    """The process-wide Celery app, configured for at-least-once, resumable tasks."""
    settings = app_settings()
    app = Celery("taas", broker=settings.celery_broker_url, set_as_current=True)
    app.conf.update(
        task_acks_late=True,  # a task is acknowledged only when it has finished ...
        task_reject_on_worker_lost=True,  # ... and requeued if its worker dies mid-way
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.task_visibility_timeout_s},
        worker_hijack_root_logger=False,
        beat_schedule={
            "relay-operations": {
                "task": "taas.operations.relay",
                "schedule": settings.outbox_relay_interval_s,
            },
            "reconcile-tenants": {
                "task": "taas.tenants.reconcile_all",
                "schedule": settings.reconcile_interval_s,
                # a pass slower than the interval must not queue up passes behind it
                "options": {"expires": settings.reconcile_interval_s},
            },
            "reconcile-workloads": {
                "task": "taas.subscriptions.reconcile_workloads",
                "schedule": settings.reconcile_interval_s,
                "options": {"expires": settings.reconcile_interval_s},
            },
            "checkpoint-audit-chain": {
                "task": "taas.audit.checkpoint",
                "schedule": settings.audit_checkpoint_interval_s,
                # a run that waited longer than one interval is superseded by the next
                "options": {"expires": settings.audit_checkpoint_interval_s},
            },
            "purge-expired-retention": {
                "task": "taas.tenants.purge_expired",
                "schedule": 3600.0,
            },
        },
    )
    return app


def _share_imports_with_children(**_: Any) -> None:
    """In the worker's main process, before the pool forks: what the imports allocated is
    frozen out of the garbage collector, so the children's collections never write to (and
    so copy) the pages they share with the main process."""
    gc.collect()
    gc.freeze()


worker_init.connect(_share_imports_with_children)
