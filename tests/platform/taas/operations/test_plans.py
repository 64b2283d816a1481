"""The plan registry: domains register plans, hooks and observers; the engine finds them by
kind and knows nothing else about them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from operations_support import Journal, make_plan
from taas.operations.models import Operation
from taas.operations.plans import (
    Plan,
    UnknownPlan,
    When,
    hooks,
    kinds,
    on,
    plan_for,
    plans,
    register,
)
from taas.wiring import wire


def test_a_registered_plan_is_found_by_its_kind() -> None:
    plan = make_plan(Journal())
    assert plan_for(plan.kind) is plan
    assert plan.kind in kinds()
    assert plan in plans()
    assert plan.step_names() == ["a", "b", "c"]


def test_registering_a_kind_again_replaces_its_plan() -> None:
    first = make_plan(Journal())
    second: Plan[object] = Plan(kind=first.kind, steps=(), context=first.context)
    register(second)
    assert plan_for(first.kind) is second


def test_an_unknown_kind_is_named_in_the_error() -> None:
    with pytest.raises(UnknownPlan, match=r"'test\.never-registered'"):
        plan_for("test.never-registered")


def test_a_hook_is_registered_once_and_hooks_keep_their_order() -> None:
    plan = make_plan(Journal())

    def first(session: Session, operation: Operation) -> None: ...

    def second(session: Session, operation: Operation) -> None: ...

    on(plan.kind, When.SUCCESS, first)
    on(plan.kind, When.SUCCESS, second)
    on(plan.kind, When.SUCCESS, first)
    assert hooks(plan.kind, When.SUCCESS) == [first, second]
    assert hooks(plan.kind, When.FAILURE) == []


def test_every_domain_plan_has_unique_named_steps_and_undoes_what_it_compensates() -> None:
    wire()
    domain = [plan for plan in plans() if not plan.kind.startswith("test.")]
    assert {plan.kind for plan in domain} >= {
        "provision",
        "update",
        "suspend",
        "resume",
        "offboard",
        "purge",
        "subscribe",
        "change_subscription",
        "unsubscribe",
    }
    for plan in domain:
        names = plan.step_names()
        assert names, plan.kind
        assert len(set(names)) == len(names), plan.kind
        if plan.compensate:
            assert all(step.undo is not None for step in plan.steps), plan.kind
