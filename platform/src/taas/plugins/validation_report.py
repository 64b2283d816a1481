"""The outcome of a validation: its checks, and the report stored with the version.

A report stays small and storable whatever the plugin sent: at most ``MAX_CHECKS``
checks, their names and details clipped, without NUL characters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from taas.plugins.manifest import PLUGIN_API_VERSION

# Four checks for each example call a validation may send (validation.MAX_CALLS, 100):
# the report stays small whatever the document holds.
MAX_CHECKS = 400
MAX_NAME, MAX_DETAIL = 200, 1000
NEXT_STEP = (
    "fix what the failed checks name and submit a new version (versions are immutable); "
    "the vendor guide explains each check"
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def describe_exception(exc: BaseException) -> str:
    """One line naming an exception, even one whose message is empty."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, without NUL (PostgreSQL's JSON refuses it)."""
    text = text.replace("\x00", "\\0")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failed_report(started: dt.datetime, name: str, detail: str) -> dict[str, Any]:
    """A report of one failed check (for validations that could not run at all)."""
    return build_report(started, [Check(name, False, detail)])


def build_report(started: dt.datetime, checks: list[Check]) -> dict[str, Any]:
    """The report stored with the version: passed only if there are checks and all passed."""
    passed = bool(checks) and all(check.ok for check in checks)
    report: dict[str, Any] = {
        "passed": passed,
        "platform_plugin_api": PLUGIN_API_VERSION,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "checks": [
            {"name": clip(c.name, MAX_NAME), "ok": c.ok, "detail": clip(c.detail, MAX_DETAIL)}
            for c in checks[:MAX_CHECKS]
        ],
    }
    if not passed:
        report["hint"] = NEXT_STEP
    return report
