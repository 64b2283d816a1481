"""Fixtures of the risk module's tests: a manual clock, stores, the shipped model, apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from taas_risk import examples
from taas_risk.app import create_risk_app, load_scorecard
from taas_risk.decision import RiskService
from taas_risk.schemas import Application
from taas_risk.scorecard import Scorecard
from taas_risk.store import InMemoryRiskStore, ManualClock
from taas_sdk.testing import ModuleClient

START = 1_750_000_000.0


MakeApplication = Callable[..., Application]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(clock: ManualClock) -> InMemoryRiskStore:
    return InMemoryRiskStore(clock=clock)


@pytest.fixture(scope="session")
def card() -> Scorecard:
    return load_scorecard()


@pytest.fixture
def service(card: Scorecard, store: InMemoryRiskStore) -> RiskService:
    return RiskService(card, store)


@pytest.fixture
def make_application() -> MakeApplication:
    """Build an application: the safe example with ``credit`` and top-level overrides."""

    def build(credit: dict[str, Any] | None = None, **fields: Any) -> Application:
        body: dict[str, Any] = {
            **examples.APPLICANT,
            "credit": {**examples.SAFE_PROFILE, **(credit or {})},
        }
        body.update(fields)
        return Application.model_validate(body)

    return build


@pytest.fixture
def client(store: InMemoryRiskStore, card: Scorecard) -> ModuleClient:
    return ModuleClient(create_risk_app(store=store, scorecard=card), tenant="bank-a")
