"""Plugin validation as a plan for the operations engine.

Submitting a version starts a ``validate_plugin`` operation in the version's own lane
(``plugin-version:<id>``): one step runs every check against the running plugin and stores
the report on the version; a second ends the sandbox storage credentials the checks used
(retried by the engine while MinIO is unreachable, so none is left behind). Hooks move the
version in the engine's transaction: to ``validating`` when the operation starts, to
``validated`` or ``invalid`` (with the report) when it ends. A worker that dies mid-check
is replaced by the engine's relay (its advisory lock keeps a live run from being run
twice); after ``max_starts`` interrupted starts the operation fails and the version ends
``invalid`` with a report that says so."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import httpx
from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.integrations.sandbox import PluginSandbox
from taas.integrations.spec import ModuleSpec
from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.kit.errors import TaasError
from taas.kit.settings import app_settings
from taas.kit.telemetry import tracer
from taas.operations.models import Operation
from taas.operations.plans import Plan, Step, When, on, plan_for, register
from taas.operations.repository import lane
from taas.plugins.contract import ACTOR, contract_headers, cut_sandbox_storage
from taas.plugins.manifest import PluginManifest
from taas.plugins.models import PluginVersion
from taas.plugins.repository import PluginVersionRepository, VendorRepository
from taas.plugins.states import PluginStatus
from taas.plugins.validation import ImageRunner, validate
from taas.plugins.validation_report import failed_report

log = logging.getLogger(__name__)
VALIDATE_PLUGIN: Final = "validate_plugin"
CHECKS: Final = "plugin.contract_checks"
END_SANDBOX: Final = "plugin.end_sandbox_credentials"
CALL_TIMEOUT_S: Final = 10.0


def plugin_lane(version_id: uuid.UUID) -> str:
    return lane("plugin-version", version_id)


@dataclass(frozen=True)
class ValidationContext:
    """What the steps work on: one plugin version of module ``name``."""

    version_id: uuid.UUID
    label: str
    name: str | None


def _context(session: Session, operation: Operation) -> ValidationContext:
    version_id = uuid.UUID(operation.params["plugin_version_id"])
    row = PluginVersionRepository(session).get(version_id)
    label = f"{row.name} {row.version}" if row else str(version_id)
    return ValidationContext(version_id, label, row.name if row else None)


def _run_checks(ctx: ValidationContext) -> list[str]:
    """Run every check and store the report on the version (still ``validating``):
    running it again runs the checks again and replaces the report."""
    with new_session() as session, tracer().start_as_current_span("plugin.validate") as span:
        row = PluginVersionRepository(session).get(ctx.version_id)
        if row is None or row.status != PluginStatus.VALIDATING:
            return []
        span.set_attribute("plugin.name", row.name)
        span.set_attribute("plugin.version", row.version)
        vendor = VendorRepository(session).get(row.vendor_id)
        assert vendor is not None  # noqa: S101 - a foreign key
        started = dt.datetime.now(dt.UTC)
        try:
            run_image = _image_runner(row, vendor.signing_secret)
            with httpx.Client(timeout=CALL_TIMEOUT_S, follow_redirects=False) as http:
                headers = contract_headers(row, vendor.signing_secret)
                report = validate(row.manifest, http, headers, run_image)
        except Exception as exc:  # validate() reports its own failures; this is a last resort
            log.exception("validation of %s %s failed", row.name, row.version)
            report = failed_report(
                started,
                "validation",
                f"validation stopped: {type(exc).__name__}: {exc}; ask the platform "
                "operators to look at the worker logs",
            )
        row.validation = report
        session.commit()
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    return [f"failed: {', '.join(failed)}" if failed else "all checks passed"]


def _image_runner(row: PluginVersion, signing_secret: str) -> ImageRunner:
    """Start the version's image in its sandbox namespace (see :mod:`taas.integrations.sandbox`)."""

    def run(parsed: PluginManifest) -> AbstractContextManager[str]:
        resources = parsed.resources
        module = ModuleSpec(
            name=parsed.name,
            version=parsed.version,
            image=parsed.upstream.image,
            port=parsed.upstream.port,
            upstream_url=None,
            cpu=resources.cpu,
            cpu_limit=resources.cpu_limit,
            memory=resources.memory,
            health_path=parsed.health_path,
            uses_storage=bool(parsed.data.storage),
        )
        return PluginSandbox(systems().modules).running(row.id, module, signing_secret)

    return run


def _end_sandbox(ctx: ValidationContext) -> list[str]:
    """End the sandbox storage credentials the contract calls used, and remove the image's
    sandbox namespace (both idempotent)."""
    changes = cut_sandbox_storage(ctx.name) if ctx.name else []
    return changes + PluginSandbox(systems().modules).remove(ctx.version_id)


def _started(session: Session, operation: Operation) -> None:
    row = _version(session, operation)
    if row is not None and row.status == PluginStatus.SUBMITTED:
        row.status = PluginStatus.VALIDATING


def _validated(session: Session, operation: Operation) -> None:
    row = _version(session, operation)
    if row is None or row.status != PluginStatus.VALIDATING:
        return
    report = row.validation if row.validation.get("checks") else None
    if report is None:  # the step found nothing to check: never leave it validating
        report = failed_report(dt.datetime.now(dt.UTC), "validation", "no report was stored")
    _finish(session, operation, row, report)


def _not_validated(session: Session, operation: Operation) -> None:
    row = _version(session, operation)
    if row is None or row.status not in (PluginStatus.SUBMITTED, PluginStatus.VALIDATING):
        return
    started = operation.started_at or dt.datetime.now(dt.UTC)
    limit = plan_for(VALIDATE_PLUGIN).max_starts
    if _interrupted(operation) >= limit:
        report = failed_report(
            started,
            "validation.attempts",
            f"validation was started {limit} times and never finished (the worker "
            "running it stopped each time, e.g. killed for memory or time); make the "
            "manifest and the plugin's answers smaller or simpler and submit a new "
            "version, or ask the platform operators to look at the worker logs",
        )
    else:
        report = failed_report(
            started,
            "validation",
            f"validation stopped: {operation.error}; ask the platform operators to look at "
            "the worker logs",
        )
    if row.status == PluginStatus.SUBMITTED:
        row.status = PluginStatus.VALIDATING
    _finish(session, operation, row, report)
    try:  # the end-sandbox step may not have run; the scan reports what this leaves
        cut_sandbox_storage(row.name)
    except TaasError as exc:
        log.warning("sandbox credentials of %s not ended: %s", row.name, exc)


def _finish(
    session: Session, operation: Operation, row: PluginVersion, report: dict[str, Any]
) -> None:
    """Store the report and end the version validated or invalid."""
    target = PluginStatus.VALIDATED if report["passed"] else PluginStatus.INVALID
    row.validation = report | {"attempts": _starts(operation)}
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


def _version(session: Session, operation: Operation) -> PluginVersion | None:
    version_id = uuid.UUID(operation.params["plugin_version_id"])
    # the check step stored its report from another session: read it fresh, locked
    return PluginVersionRepository(session).reread_locked(version_id)


def _interrupted(operation: Operation) -> int:
    return max((int(s.detail.get("interrupted", 0)) for s in operation.steps), default=0)


def _starts(operation: Operation) -> int:
    """How many times the check step was started."""
    return max((s.attempts for s in operation.steps if s.name == CHECKS), default=0)


def register_plans() -> None:
    """Register plugin validation and its hooks with the engine: a check step whose worker
    stopped ``validation_attempts_limit`` times fails the validation."""
    limit = app_settings().validation_attempts_limit
    steps = (
        Step[ValidationContext](CHECKS, _run_checks),
        Step[ValidationContext](END_SANDBOX, _end_sandbox),
    )
    register(Plan(kind=VALIDATE_PLUGIN, steps=steps, context=_context, max_starts=limit))
    on(VALIDATE_PLUGIN, When.START, _started)
    on(VALIDATE_PLUGIN, When.SUCCESS, _validated)
    on(VALIDATE_PLUGIN, When.FAILURE, _not_validated)
