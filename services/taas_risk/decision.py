"""Decisions: anti-fraud rules, the scorecard and the tenant's cutoffs, with reasons.

Order of precedence: any rule hit whose action is ``reject`` rejects; a score below
``reject_below`` rejects; otherwise any ``review`` hit, or a score below ``approve_from``,
sends the application to review; everything else is approved. Every rule hit is a
reason, then the cutoff that applied, then the scorecard's adverse factors.
"""

from __future__ import annotations

from dataclasses import dataclass

from taas_sdk import TenantStorage

from taas_risk import fraud
from taas_risk.rules import Action, BlacklistKind, RiskRules, Scoring, VelocityKey
from taas_risk.schemas import Application, Decision, DecisionValue, Reason
from taas_risk.scorecard import Scorecard, ScoreResult
from taas_risk.store import RiskStore, TenantRiskData

KEY_WORDS: dict[str, str] = {
    "id_number": "ID number",
    "phone": "phone number",
    "bank_card": "bank card",
    "device_id": "device",
    "ip": "IP address",
}
PERSON_KEYS: tuple[VelocityKey, ...] = ("id_number", "phone", "bank_card")
"""What identifies the same person for multi-lending."""
BLACKLIST_KINDS: tuple[BlacklistKind, ...] = ("id_number", "phone", "device_id")


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired on an application."""

    code: str
    action: Action
    message: str


def identifiers(application: Application) -> dict[VelocityKey, str]:
    """The application's identifiers, normalised (absent ones left out)."""
    found: dict[VelocityKey, str] = {
        "id_number": fraud.normalize_id_number(application.id_number),
        "phone": fraud.normalize_phone(application.phone),
    }
    if application.bank_card:
        found["bank_card"] = fraud.normalize_card(application.bank_card)
    if application.device_id:
        found["device_id"] = fraud.normalize_device(application.device_id)
    if application.ip:
        found["ip"] = fraud.normalize_ip(application.ip)
    return found


def window_text(seconds: int) -> str:
    """``86400`` -> "24 hours", ``2592000`` -> "30 days"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and (unit != "day" or seconds >= 2 * size):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def format_hits(application: Application, rules: RiskRules) -> list[RuleHit]:
    """ID number, phone and bank card checks."""
    checks = (
        ("id_number.invalid", rules.id_number, fraud.id_number_problem, application.id_number),
        ("phone.invalid", rules.phone, fraud.phone_problem, application.phone),
        ("bank_card.invalid", rules.bank_card, fraud.card_problem, application.bank_card),
    )
    hits = []
    for code, check, problem_of, value in checks:
        if check.enabled and value is not None:
            problem = problem_of(value)
            if problem:
                hits.append(RuleHit(code, check.action, problem[0].upper() + problem[1:]))
    return hits


def blacklist_hits(
    ids: dict[VelocityKey, str], rules: RiskRules, data: TenantRiskData
) -> list[RuleHit]:
    """Identifiers on the tenant's blacklist."""
    if not rules.blacklist.enabled:
        return []
    hits = []
    for kind in BLACKLIST_KINDS:
        value = ids.get(kind)
        entry = data.blacklisted(kind, value) if value is not None else None
        if entry is not None:
            because = f" ({entry.reason})" if entry.reason else ""
            message = f"The {KEY_WORDS[kind]} is on the bank's blacklist{because}"
            hits.append(RuleHit(f"blacklist.{kind}", rules.blacklist.action, message))
    return hits


def history_hits(
    ids: dict[VelocityKey, str], rules: RiskRules, data: TenantRiskData, now: float
) -> list[RuleHit]:
    """Velocity and multi-lending, counting the application just recorded."""
    hits = []
    for limit in rules.velocity:
        value = ids.get(limit.key)
        if not limit.enabled or value is None:
            continue
        count = data.count_since(limit.key, value, now - limit.window_s)
        if count > limit.max_applications:
            hits.append(
                RuleHit(
                    f"velocity.{limit.key}",
                    limit.action,
                    f"{count} applications with this {KEY_WORDS[limit.key]} in the last "
                    f"{window_text(limit.window_s)} (limit {limit.max_applications})",
                )
            )
    lending = rules.multi_lending
    if lending.enabled:
        person = {k: ids[k] for k in PERSON_KEYS if k in ids}
        count = data.applications_since(person, now - lending.window_s)
        if count > lending.max_applications:
            hits.append(
                RuleHit(
                    "multi_lending",
                    lending.action,
                    f"The applicant made {count} applications in the last "
                    f"{window_text(lending.window_s)} (limit {lending.max_applications})",
                )
            )
    return hits


def combine(
    hits: list[RuleHit], result: ScoreResult, scoring: Scoring, card: Scorecard
) -> tuple[DecisionValue, float, list[Reason]]:
    """The decision, the score as reported (one decimal) and the reasons."""
    score = round(result.score, 1)
    ordered = sorted(hits, key=lambda h: h.action != "reject")
    reasons = [
        Reason(code=h.code, kind="rule", message=h.message, action=h.action) for h in ordered
    ]
    actions = {h.action for h in hits}
    if score < scoring.reject_below:
        actions.add("reject")
        reasons.append(
            Reason(
                code="cutoff.reject",
                kind="cutoff",
                action="reject",
                message=f"Score {score:g} is below the reject cutoff {scoring.reject_below:g}",
            )
        )
    elif score < scoring.approve_from:
        actions.add("review")
        reasons.append(
            Reason(
                code="cutoff.review",
                kind="cutoff",
                action="review",
                message=f"Score {score:g} is below the approval cutoff {scoring.approve_from:g}",
            )
        )
    reasons.extend(
        Reason(
            code=f"score.{factor.variable}",
            kind="score",
            message=card.describe(factor),
            points_below_best=round(factor.shortfall, 1),
        )
        for factor in result.reasons
    )
    decision: DecisionValue = (
        "reject" if "reject" in actions else "review" if "review" in actions else "approve"
    )
    return decision, score, reasons


class RiskService:
    """Decides applications for any tenant, with that tenant's rules and data only."""

    def __init__(self, scorecard: Scorecard, store: RiskStore) -> None:
        self.scorecard = scorecard
        self.store = store

    def decide(
        self, tenant_id: str, application: Application, storage: TenantStorage | None = None
    ) -> Decision:
        """Check, record, score and decide one application of ``tenant_id``; ``storage`` is
        the request's (the tenant's bucket), which a durable store needs."""
        data = self.store.tenant(tenant_id, storage)
        rules = data.rules()
        ids = identifiers(application)
        hits = format_hits(application, rules) + blacklist_hits(ids, rules, data)
        now = data.record_application(ids, application.application_id)
        hits += history_hits(ids, rules, data, now)
        result = self.scorecard.score(
            application.credit.model_dump(), rules.scoring.scaling, rules.scoring.top_reasons
        )
        decision, score, reasons = combine(hits, result, rules.scoring, self.scorecard)
        return Decision(
            decision=decision,
            score=score,
            probability_bad=round(result.probability_bad, 4),
            reasons=reasons,
            application_id=application.application_id,
        )
