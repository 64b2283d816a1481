"""The Celery worker entry point: ``celery -A taas.worker worker -B``."""

from __future__ import annotations

from taas.kit.celery import celery_app
from taas.kit.settings import app_settings
from taas.kit.telemetry import setup_tracing
from taas.wiring import wire

app_settings().require_audit_anchor()  # workers write the audit checkpoints
setup_tracing("taas-worker")
wire()
app = celery_app()
app.autodiscover_tasks(
    ["taas.operations", "taas.tenants", "taas.subscriptions", "taas.audit"], force=True
)
