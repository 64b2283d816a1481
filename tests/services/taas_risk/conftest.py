"""Fixtures of the risk module's tests: a manual clock, stores, the shipped model, apps.

The ``client`` fixture runs each API test twice: over the in-memory store and over the
durable one (state in the test kit's per-tenant in-memory storage).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from taas_risk import examples
from taas_risk.app import create_risk_app, load_scorecard
from taas_risk.decision import RiskService
from taas_risk.durable import DurabilitySettings, DurableRiskStore
from taas_risk.schemas import Application
from taas_risk.scorecard import Scorecard
from taas_risk.store import InMemoryRiskStore, ManualClock, RiskStore
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
def durable(clock: ManualClock) -> DurableRiskStore:
    """A durable store that writes the history after every decision."""
    return DurableRiskStore(clock=clock, settings=DurabilitySettings(snapshot_every_s=0))


@pytest.fixture(params=["memory", "durable"])
def client(
    request: pytest.FixtureRequest,
    store: InMemoryRiskStore,
    durable: DurableRiskStore,
    card: Scorecard,
) -> ModuleClient:
    chosen: RiskStore = store if request.param == "memory" else durable
    return ModuleClient(create_risk_app(store=chosen, scorecard=card), tenant="bank-a")
