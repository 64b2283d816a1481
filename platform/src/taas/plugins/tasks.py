"""Celery tasks of the open platform: validating submitted plugin versions."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

import httpx
from celery import shared_task
from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.kit import grants, signing
from taas.kit.celery import celery_app
from taas.kit.db import new_session, utcnow
from taas.kit.errors import TaasError
from taas.kit.settings import app_settings
from taas.kit.telemetry import tracer
from taas.plugins.manifest import requestable_scopes
from taas.plugins.models import PluginVersion
from taas.plugins.repository import PluginVersionRepository, VendorRepository
from taas.plugins.sandbox import CONTRACT_TENANT, CONTRACT_TENANT_ID, cut_sandbox_storage
from taas.plugins.states import PluginStatus, check_plugin_transition
from taas.plugins.validation import HeadersFor, failed_report, validate

log = logging.getLogger(__name__)
VALIDATE = "taas.plugins.validate_version"
RESUME_VALIDATIONS = "taas.plugins.resume_validations"
ACTOR = "system:plugin-validator"
CALL_TIMEOUT_S = 10.0
HEARTBEAT_S = 5.0  # at most; and at most a third of stalled_after_s


def contract_headers(version: PluginVersion, secret: str) -> HeadersFor:
    """The identity headers a gateway would send, for a synthetic contract-check tenant
    (with a storage grant for the sandbox bucket when the plugin declares storage access)."""
    sign = signing.signer(secret)
    settings = app_settings()
    access = frozenset(version.manifest.get("data", {}).get("storage", []))
    grant = None
    if access and settings.storage_grant_secret:
        grant = grants.issue(
            settings.storage_grant_secret,
            grants.Grant(
                tenant=CONTRACT_TENANT,
                tenant_id=CONTRACT_TENANT_ID,
                module=version.name,
                version=version.version,
                access=access,
                expires_at=time.time() + settings.storage_grant_ttl_s,
            ),
        )

    def headers(method: str, path: str) -> dict[str, str]:
        extra = {signing.STORAGE_GRANT: grant} if grant else {}
        return extra | dict(
            signing.identity_headers(
                sign,
                timestamp=str(int(time.time())),
                method=method,
                path=path,
                tenant=CONTRACT_TENANT,
                tenant_id=CONTRACT_TENANT_ID,
                caller=ACTOR,
                caller_client=ACTOR,
                scopes=" ".join(requestable_scopes(version.manifest)),
                module=version.name,
                version=version.version,
                request_id=f"contract-{uuid.uuid4().hex[:16]}",
            )
        )

    return headers


@shared_task(  # type: ignore[untyped-decorator]
    name=VALIDATE, acks_late=True, reject_on_worker_lost=True
)
def validate_version(version_id: str) -> str:
    """Validate one submitted version and record the report; returns the new status.

    Every run ends the version ``validated`` or ``invalid`` with a report. Each start is
    counted (in ``validation.attempts``, committed before the checks run), so a version
    whose validation kills its worker every time is failed after
    ``validation_attempts_limit`` starts instead of being re-enqueued for ever.
    """
    with new_session() as session, tracer().start_as_current_span("plugin.validate") as span:
        row = PluginVersionRepository(session).get(uuid.UUID(version_id), lock=True)
        if row is None or row.status not in (PluginStatus.SUBMITTED, PluginStatus.VALIDATING):
            return row.status if row else "missing"
        span.set_attribute("plugin.name", row.name)
        span.set_attribute("plugin.version", row.version)
        settings = app_settings()
        fresh = utcnow() - dt.timedelta(seconds=settings.stalled_after_s)
        if _attempts(row.validation) and row.updated_at > fresh:
            return row.status  # a live run (it refreshes updated_at as it goes) has it
        if row.status == PluginStatus.SUBMITTED:
            check_plugin_transition(PluginStatus(row.status), PluginStatus.VALIDATING)
            row.status = PluginStatus.VALIDATING
        attempt = _attempts(row.validation) + 1
        limit = settings.validation_attempts_limit
        started = dt.datetime.now(dt.UTC)
        if attempt > limit:
            report = failed_report(
                started,
                "validation.attempts",
                f"validation was started {limit} times and never finished (the worker "
                "running it stopped each time, e.g. killed for memory or time); make the "
                "manifest and the plugin's answers smaller or simpler and submit a new "
                "version, or ask the platform operators to look at the worker logs",
            )
            return _finish(session, row, report, attempt - 1)
        row.validation = {"attempts": attempt}
        session.commit()  # the start counts even if this worker dies during the checks
        vendor = VendorRepository(session).get(row.vendor_id)
        assert vendor is not None  # noqa: S101 - a foreign key
        headers = _alive(row.id, contract_headers(row, vendor.signing_secret))
        try:
            with httpx.Client(timeout=CALL_TIMEOUT_S, follow_redirects=False) as http:
                report = validate(row.manifest, http, headers)
        except Exception as exc:  # validate() reports its own failures; this is a last resort
            log.exception("validation of %s %s failed", row.name, row.version)
            report = failed_report(
                started,
                "validation",
                f"validation stopped: {type(exc).__name__}: {exc}; ask the platform "
                "operators to look at the worker logs",
            )
        session.refresh(row, with_for_update=True)
        if row.status != PluginStatus.VALIDATING or _attempts(row.validation) != attempt:
            return row.status  # a later attempt (re-enqueued as stalled) owns the version now
        return _finish(session, row, report, attempt)


def _alive(version_id: uuid.UUID, headers: HeadersFor) -> HeadersFor:
    """``headers``, also marking the version as being worked on (its ``updated_at``) at
    most every HEARTBEAT_S while calls go out: a long but live validation is never taken
    for a stalled one and started again."""
    last, every = time.monotonic(), min(HEARTBEAT_S, app_settings().stalled_after_s / 3)

    def sign_and_touch(method: str, path: str) -> dict[str, str]:
        nonlocal last
        if time.monotonic() - last >= every:
            last = time.monotonic()
            with new_session() as session:
                PluginVersionRepository(session).touch_validating(version_id)
                session.commit()
        return headers(method, path)

    return sign_and_touch


def _attempts(validation: dict[str, object] | None) -> int:
    """How many validations of a version were started (0 once a report replaced them)."""
    value = (validation or {}).get("attempts", 0)
    return value if isinstance(value, int) and not (validation or {}).get("checks") else 0


def _finish(session: Session, row: PluginVersion, report: dict[str, Any], attempts: int) -> str:
    """Store the report and end the version validated or invalid (one transaction)."""
    target = PluginStatus.VALIDATED if report["passed"] else PluginStatus.INVALID
    check_plugin_transition(PluginStatus(row.status), target)
    row.validation = report | {"attempts": attempts}
    row.status = target
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    reason = "failed: " + ", ".join(failed) if failed else "all checks passed"
    row.status_reason = reason if len(reason) <= 1000 else reason[:999] + "…"
    AuditRepository(session).append(
        actor=ACTOR,
        action=f"plugin.{target}",
        outcome="succeeded" if report["passed"] else "failed",
        detail={"name": row.name, "version": row.version, "failed_checks": failed[:50]},
    )
    session.commit()
    try:
        cut_sandbox_storage(row.name)  # the contract calls' credentials end with them
    except TaasError as exc:
        log.warning("sandbox credentials of %s not ended: %s", row.name, exc)
    return target.value


@shared_task(name=RESUME_VALIDATIONS)  # type: ignore[untyped-decorator]
def resume_validations() -> int:
    """Re-enqueue versions no worker has finished validating for a while (e.g. it died)."""
    threshold = utcnow() - dt.timedelta(seconds=app_settings().stalled_after_s)
    with new_session() as session:
        stalled = PluginVersionRepository(session).stalled(threshold)
    for version_id in stalled:
        log.warning("validation of %s looks stalled; re-enqueueing it", version_id)
        enqueue_validation(version_id)
    return len(stalled)


def enqueue_validation(version_id: uuid.UUID) -> None:
    """Hand a submitted version to the workers (after its transaction committed)."""
    celery_app().send_task(VALIDATE, args=[str(version_id)])
