"""A tenant's decision rules, as data: which checks run, their limits, actions and cutoffs.

Every tenant starts from the defaults below and may replace them (``PUT /rules``). A rule
hit's ``action`` says what it does to the decision: ``reject`` or send to ``review``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from taas_risk.scorecard import Scaling

Action = Literal["reject", "review"]
VelocityKey = Literal["id_number", "phone", "bank_card", "device_id", "ip"]
BlacklistKind = Literal["id_number", "phone", "device_id"]
HOUR_S, DAY_S = 3600, 86400
MAX_WINDOW_S = 90 * DAY_S
"""The longest rolling window a rule may use (the history is kept this long)."""

WindowSeconds = Annotated[
    int, Field(ge=60, le=MAX_WINDOW_S, description="Rolling window in seconds (1 min-90 days).")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Check(_Strict):
    """A yes/no check of the application."""

    enabled: bool = True
    action: Action = "reject"


class VelocityLimit(_Strict):
    """At most ``max_applications`` with the same ``key`` value within ``window_s``."""

    key: VelocityKey
    window_s: WindowSeconds
    max_applications: Annotated[int, Field(ge=1, le=100_000)]
    action: Action = "review"
    enabled: bool = True


class MultiLending(_Strict):
    """At most ``max_applications`` by the same person (same ID number, phone or bank
    card) within ``window_s``, counting this one."""

    enabled: bool = True
    action: Action = "review"
    window_s: WindowSeconds = 30 * DAY_S
    max_applications: Annotated[int, Field(ge=1, le=100_000)] = 4


class Scoring(_Strict):
    """Score scaling and the cutoffs that turn a score into a decision."""

    base_score: Annotated[float, Field(ge=0, le=10_000)] = 600.0
    base_odds: Annotated[float, Field(gt=0, le=1000, description="Bad:good odds.")] = 1 / 50
    pdo: Annotated[float, Field(gt=0, le=1000, description="Points to double the odds.")] = 20.0
    approve_from: float = Field(527.0, description="Scores at or above are approved.")
    reject_below: float = Field(487.0, description="Scores below are rejected.")
    top_reasons: Annotated[int, Field(ge=0, le=10)] = 4

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.approve_from < self.reject_below:
            raise ValueError("approve_from must be at least reject_below")
        return self

    @property
    def scaling(self) -> Scaling:
        return Scaling(self.base_score, self.base_odds, self.pdo)


def _default_velocity() -> tuple[VelocityLimit, ...]:
    return (
        VelocityLimit(key="id_number", window_s=DAY_S, max_applications=3),
        VelocityLimit(key="phone", window_s=DAY_S, max_applications=3),
        VelocityLimit(key="device_id", window_s=DAY_S, max_applications=5),
        VelocityLimit(key="ip", window_s=HOUR_S, max_applications=20),
    )


class RiskRules(_Strict):
    """All of a tenant's rules (the defaults are what a new tenant gets)."""

    scoring: Scoring = Field(default_factory=Scoring)
    id_number: Check = Field(default_factory=Check, description="GB 11643 ID number check.")
    phone: Check = Field(
        default_factory=lambda: Check(action="review"), description="Mainland mobile number."
    )
    bank_card: Check = Field(
        default_factory=lambda: Check(action="review"), description="Luhn check of the card."
    )
    blacklist: Check = Field(
        default_factory=Check, description="ID number, phone or device on the blacklist."
    )
    velocity: tuple[VelocityLimit, ...] = Field(
        default_factory=_default_velocity, max_length=20, description="Velocity limits."
    )
    multi_lending: MultiLending = Field(default_factory=MultiLending)
