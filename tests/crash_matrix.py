"""The crash-safety matrix: which plan x step x fault cases run, and the table of outcomes.

``TAAS_CRASH_MATRIX=full`` runs every step of every plan with every fault: the worker
killed before, during and after the step, and each outside system unavailable during it.
Otherwise the reduced matrix runs (what ``make test`` runs): each step of provisioning and
subscribing with one crash kind (the three kinds take turns), one outage per system,
during a step that uses that system, and one crash each in updating a tenant and in
validating a plugin. The reduced set does not generate the other cases; nothing is skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CRASHES = ("crash_before", "crash_during", "crash_after")
SYSTEMS = ("postgres", "redis", "keycloak", "minio", "kubernetes")

# plan kind -> its steps, in order (checked against the registered plans by the suite)
PLANS: dict[str, tuple[str, ...]] = {
    "provision": ("kubernetes.namespace", "postgres.schema", "minio.bucket", "keycloak.identity"),
    # an update (new quotas) runs provisioning's steps again, without undoing them on failure
    "update": ("kubernetes.namespace", "postgres.schema", "minio.bucket", "keycloak.identity"),
    "suspend": (
        "keycloak.disable_logins",
        "minio.disable_identity",
        "postgres.disable_login",
        "kubernetes.scale_to_zero",
    ),
    "resume": (
        "keycloak.enable_logins",
        "minio.enable_identity",
        "postgres.enable_login",
        "kubernetes.restore_workloads",
    ),
    "offboard": (
        "kubernetes.close_module_paths",
        "keycloak.remove_identity",
        "minio.retain_or_remove",
        "postgres.retain_or_remove",
        "kubernetes.remove_namespace",
    ),
    "purge": ("minio.remove_bucket", "postgres.remove"),
    "subscribe": (
        "kubernetes.module_workload",
        "kubernetes.module_ready",
        "keycloak.module_scopes",
    ),
    "change_subscription": (
        "kubernetes.module_workload",
        "kubernetes.module_ready",
        "keycloak.module_scopes",
        "gateway.route_new_version",
        "kubernetes.retire_previous_version",
    ),
    "unsubscribe": ("keycloak.remove_module_scopes", "kubernetes.remove_module_workload"),
    "validate_plugin": ("plugin.contract_checks", "plugin.end_sandbox_credentials"),
}

# the reduced matrix's outages: each during a step that talks to that system
REDUCED_OUTAGES = {
    "postgres": ("provision", "postgres.schema"),
    "redis": ("provision", "minio.bucket"),
    "keycloak": ("provision", "keycloak.identity"),
    "minio": ("provision", "minio.bucket"),
    "kubernetes": ("subscribe", "kubernetes.module_workload"),
}
# the reduced matrix's cases of the plans it does not walk step by step: the step where an
# update changes a quota (the bucket's), and a validation whose result was not recorded
REDUCED_EXTRA = (
    ("update", "minio.bucket", "crash_during"),
    ("validate_plugin", "plugin.contract_checks", "crash_after"),
)


@dataclass(frozen=True)
class Case:
    plan: str
    step: str
    fault: str  # a crash kind, or "outage:<system>"

    @property
    def id(self) -> str:
        return f"{self.plan}:{self.step}:{self.fault}"

    @property
    def outage(self) -> str | None:
        return self.fault.split(":", 1)[1] if self.fault.startswith("outage:") else None


def full_matrix() -> list[Case]:
    """Every case, one fault at a time across all plans (a run cut short has still covered
    every plan)."""
    return [
        Case(plan, step, fault)
        for fault in (*CRASHES, *(f"outage:{system}" for system in SYSTEMS))
        for plan, steps in PLANS.items()
        for step in steps
    ]


def reduced_matrix() -> list[Case]:
    steps = [(plan, step) for plan in ("provision", "subscribe") for step in PLANS[plan]]
    # the three crash kinds take turns, so each is used
    cases = [Case(plan, step, CRASHES[i % len(CRASHES)]) for i, (plan, step) in enumerate(steps)]
    outages = REDUCED_OUTAGES.items()
    cases += [Case(plan, step, f"outage:{system}") for system, (plan, step) in outages]
    return cases + [Case(plan, step, fault) for plan, step, fault in REDUCED_EXTRA]


def matrix() -> list[Case]:
    """The cases of this run: full with ``TAAS_CRASH_MATRIX=full``, reduced otherwise;
    ``TAAS_CRASH_PLANS=provision,suspend`` keeps the cases of those plans only."""
    choice = os.environ.get("TAAS_CRASH_MATRIX", "reduced")
    if choice not in ("full", "reduced"):
        raise ValueError(f"TAAS_CRASH_MATRIX is {choice!r}; use full or reduced")
    cases = full_matrix() if choice == "full" else reduced_matrix()
    plans = [p for p in os.environ.get("TAAS_CRASH_PLANS", "").split(",") if p]
    unknown = set(plans) - set(PLANS)
    if unknown:
        raise ValueError(f"TAAS_CRASH_PLANS names unknown plans: {sorted(unknown)}")
    return [case for case in cases if not plans or case.plan in plans]


@dataclass
class Outcome:
    case: Case
    result: str  # "succeeded", or "failed → <recovery> succeeded"
    attempts: int  # starts of the faulted step, the interrupted ones included
    detail: str  # where the crash struck, or how many connections the outage cut
    findings: int  # orphans, missing resources and duplicates found after recovery


def table(outcomes: list[Outcome]) -> str:
    """The outcomes as a Markdown table, one row per case."""
    lines = [
        "| plan | step | fault | outcome | step starts | detail | orphans/dups |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        c = o.case
        lines.append(
            f"| {c.plan} | {c.step} | {c.fault} | {o.result} | {o.attempts} | {o.detail} "
            f"| {o.findings} |"
        )
    return "\n".join(lines)


def append_row(outcome: Outcome, path: Path) -> None:
    """Add one case's row to ``path`` as soon as it is known (a long run cut short still
    leaves the rows of the cases it finished)."""
    with path.open("a") as rows:
        rows.write(table([outcome]).splitlines()[-1] + "\n")


def write_table(outcomes: list[Outcome], path: Path, scan_findings: list[str]) -> str:
    """Write the table and the final scan's result to ``path``; returns the text."""
    succeeded = sum(1 for o in outcomes if o.result == "succeeded")
    retried = sum(1 for o in outcomes if o.result.startswith("failed cleanly"))
    broken = len(outcomes) - succeeded - retried
    text = (
        f"{len(outcomes)} cases: {succeeded} succeeded as they were, {retried} failed cleanly "
        f"and were completed by a retry, {broken} drills failed.\n\n{table(outcomes)}\n\n"
        f"Final scan of every backend: {len(scan_findings)} orphans, missing resources or "
        "duplicates" + "".join(f"\n- {finding}" for finding in scan_findings) + "\n"
    )
    path.write_text(text)
    return text
