"""Request and response bodies of the risk module's API."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from taas_risk.features import (
    BY_NAME,
    CheckingAccount,
    CreditHistory,
    EmploymentSince,
    Housing,
    Job,
    OtherDebtors,
    OtherInstallmentPlans,
    Property,
    Purpose,
    Savings,
    Telephone,
)
from taas_risk.rules import BlacklistKind

DecisionValue = Literal["approve", "review", "reject"]


def _numeric(name: str) -> Any:
    feature = BY_NAME[name]
    return Field(ge=feature.minimum, le=feature.maximum, description=feature.description)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreditProfile(_Body):
    """What the scorecard reads (German Credit wording; see docs/modules/risk.md)."""

    checking_account: CheckingAccount
    duration_months: Annotated[int, _numeric("duration_months")]
    credit_history: CreditHistory
    purpose: Purpose
    credit_amount: Annotated[float, _numeric("credit_amount")]
    savings: Savings
    employment_since: EmploymentSince
    installment_rate: Annotated[int, _numeric("installment_rate")]
    other_debtors: OtherDebtors
    residence_since: Annotated[int, _numeric("residence_since")]
    property: Property
    age_years: Annotated[int, _numeric("age_years")]
    other_installment_plans: OtherInstallmentPlans
    housing: Housing
    existing_credits: Annotated[int, _numeric("existing_credits")]
    job: Job
    dependents: Annotated[int, _numeric("dependents")]
    telephone: Telephone


Identifier = Annotated[str, Field(min_length=1, max_length=64)]


class Application(_Body):
    """One loan application: who applies, from where, and the credit profile."""

    application_id: Annotated[
        str | None,
        Field(
            max_length=64,
            description="The bank's id; an application is added to the history only once.",
        ),
    ] = None
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    phone: Annotated[str, Field(min_length=1, max_length=32)]
    bank_card: Annotated[str | None, Field(min_length=1, max_length=32)] = None
    device_id: Identifier | None = None
    ip: Annotated[str | None, Field(min_length=1, max_length=45, description="IPv4 or IPv6.")] = (
        None
    )
    credit: CreditProfile

    @field_validator("ip")
    @classmethod
    def _an_ip_address(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value.strip())  # ValueError -> 422
        return value


class Reason(BaseModel):
    """Why a decision came out as it did, in plain words."""

    code: str = Field(description="Stable identifier, e.g. blacklist.phone, score.purpose.")
    kind: Literal["rule", "cutoff", "score"]
    message: str
    action: Literal["reject", "review"] | None = Field(
        None, description="What a rule or cutoff did to the decision."
    )
    points_below_best: float | None = Field(
        None, description="Score reasons: points lost against the variable's best group."
    )


class Decision(BaseModel):
    """The decision on one application."""

    decision: DecisionValue
    score: float = Field(description="Scorecard points (higher = safer).")
    probability_bad: float = Field(description="Estimated probability of default.")
    reasons: list[Reason] = Field(
        description="Rule hits, then the cutoff, then the scorecard's adverse factors."
    )
    application_id: str | None = None


class BlacklistAdd(_Body):
    """An identifier to refuse."""

    kind: BlacklistKind
    value: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(max_length=200)] = ""


class BlacklistEntryOut(BaseModel):
    """An identifier on the tenant's blacklist (normalised as it is compared)."""

    kind: BlacklistKind
    value: str
    reason: str
    added_at: dt.datetime


class BlacklistPage(BaseModel):
    """The tenant's blacklist."""

    entries: list[BlacklistEntryOut]
    count: int


class BatchRequest(_Body):
    """Score a CSV object of the tenant's storage and write the results next to it."""

    input_key: Annotated[str, Field(min_length=1, max_length=512)]
    output_key: Annotated[str | None, Field(min_length=1, max_length=512)] = Field(
        None, description="Default: the input key with .scored.csv in place of .csv."
    )


class BatchResult(BaseModel):
    """What a batch run did."""

    input_key: str
    output_key: str
    rows: int
    scored: int
    rejected_rows: int = Field(description="Rows with invalid values (see their error column).")
    decisions: dict[DecisionValue, int]


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str
    hint: str | None = None
    errors: list[dict[str, str]] | None = None
