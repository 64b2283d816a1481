"""OpenAPI examples: the platform's contract check sends every request example and expects
the status of the response example with the same name (docs/vendor-guide.md, section 4).

The decision response examples are computed by the real service on a scratch tenant, so
the documentation shows what the model actually answers.
"""

from __future__ import annotations

from typing import Any

from taas_risk.rules import RiskRules
from taas_risk.schemas import Application, Problem

SAFE_PROFILE: dict[str, Any] = {
    "checking_account": "no checking account",
    "duration_months": 12,
    "credit_history": "critical account/ other credits existing (not at this bank)",
    "purpose": "radio/television",
    "credit_amount": 2000,
    "savings": "unknown/ no savings account",
    "employment_since": "... >= 7 years",
    "installment_rate": 2,
    "other_debtors": "none",
    "residence_since": 4,
    "property": "real estate",
    "age_years": 45,
    "other_installment_plans": "none",
    "housing": "own",
    "existing_credits": 1,
    "job": "skilled employee / official",
    "dependents": 1,
    "telephone": "yes, registered under the customers name",
}
RISKY_PROFILE: dict[str, Any] = {
    **SAFE_PROFILE,
    "checking_account": "... < 0 DM",
    "duration_months": 48,
    "credit_history": "all credits at this bank paid back duly",
    "purpose": "business",
    "credit_amount": 12000,
    "savings": "... < 100 DM",
    "employment_since": "... < 1 year",
    "property": "unknown / no property",
    "age_years": 23,
    "other_installment_plans": "bank",
    "housing": "rent",
}
MIDDLE_PROFILE: dict[str, Any] = {
    **SAFE_PROFILE,
    "checking_account": "0 <= ... < 200 DM",
    "duration_months": 24,
    "purpose": "car (new)",
    "credit_amount": 5000,
    "savings": "... < 100 DM",
}
APPLICANT = {
    "id_number": "11010519491231002X",
    "phone": "13800138000",
    "bank_card": "6222021234567894",
    "device_id": "a3f1c2e4-7b9d-4f60-9a1e-2c5d8e7f6a10",
    "ip": "203.0.113.7",
}

DECISION_REQUESTS: dict[str, dict[str, Any]] = {
    "approve": {
        "summary": "A low-risk applicant",
        "value": {"application_id": "loan-0001", **APPLICANT, "credit": SAFE_PROFILE},
    },
    "review": {
        "summary": "A middling score goes to review",
        "value": {
            "application_id": "loan-0002",
            **APPLICANT,
            "id_number": "440306199001011236",
            "phone": "13912345678",
            "credit": MIDDLE_PROFILE,
        },
    },
    "reject": {
        "summary": "Invalid ID number and a high-risk profile",
        "value": {
            "application_id": "loan-0003",
            **APPLICANT,
            "id_number": "110105194912310021",
            "phone": "12345",
            "credit": RISKY_PROFILE,
        },
    },
    "invalid": {
        "summary": "Refused: credit profile missing, unknown field",
        "value": {"id_number": "11010519491231002X", "phone": "13800138000", "salary": 1},
    },
}

INVALID_BODY = Problem(
    type="about:blank",
    title="Unprocessable request",
    status=422,
    detail="the request does not match the module's API",
    hint="see the module's OpenAPI document",
    errors=[{"loc": "body.credit", "msg": "Field required"}],
).model_dump(exclude_none=True)

RULES_REQUESTS: dict[str, dict[str, Any]] = {
    "strict": {
        "summary": "Stricter cutoffs, bad phone numbers rejected",
        "value": RiskRules.model_validate(
            {
                "scoring": {"approve_from": 560, "reject_below": 520},
                "phone": {"enabled": True, "action": "reject"},
                "velocity": [
                    {"key": "id_number", "window_s": 86400, "max_applications": 2},
                    {"key": "device_id", "window_s": 3600, "max_applications": 3},
                ],
            }
        ).model_dump(mode="json"),
    },
    "invalid": {
        "summary": "Refused: approval cutoff below the reject cutoff",
        "value": {"scoring": {"approve_from": 400, "reject_below": 500}},
    },
}

BLACKLIST_REQUESTS: dict[str, dict[str, Any]] = {
    "phone": {
        "summary": "Block a phone number",
        "value": {"kind": "phone", "value": "13700001111", "reason": "confirmed fraud 2024-05"},
    },
    "invalid": {"summary": "Refused: unknown kind", "value": {"kind": "email", "value": "x"}},
}

BATCH_REQUESTS: dict[str, dict[str, Any]] = {
    "missing": {
        "summary": "Refused: no such object",
        "value": {"input_key": "batches/does-not-exist.csv"},
    },
    "invalid": {"summary": "Refused: empty key", "value": {"input_key": ""}},
}


def request_for(name: str) -> Application:
    """A decision request example as a model."""
    return Application.model_validate(DECISION_REQUESTS[name]["value"])
