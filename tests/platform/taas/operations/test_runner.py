"""The runner on real PostgreSQL, in process: plans of recording steps run in order, once;
resume where they stopped; retry temporary failures with backoff; undo newest first on a
permanent one; give up on a step whose workers keep dying; never run twice at once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session

from conftest import ControlPlane
from operations_support import Journal, load, make_plan, set_step, start
from taas.kit.db import new_session
from taas.kit.settings import AppSettings, app_settings
from taas.operations.models import Operation
from taas.operations.plans import When, observe, on
from taas.operations.repository import operation_lock
from taas.operations.runner import OperationRunner, RetryLater


@pytest.fixture
def settings(control_plane: ControlPlane) -> AppSettings:
    return app_settings().model_copy(update={"step_retry_base_s": 0.5, "step_retry_limit": 3})


@pytest.fixture
def runner(settings: AppSettings) -> OperationRunner:
    return OperationRunner(settings)


def test_steps_run_in_order_once_and_the_operation_succeeds(runner: OperationRunner) -> None:
    journal = Journal()
    plan = make_plan(journal)
    seen: list[tuple[str, str]] = []

    def hook(when: When) -> Any:
        def record(session: Session, operation: Operation) -> None:
            seen.append((when.value, operation.status))

        return record

    on(plan.kind, When.START, hook(When.START))
    on(plan.kind, When.SUCCESS, hook(When.SUCCESS))
    operation_id = start(plan.kind)

    runner.run(operation_id)
    runner.run(operation_id)  # a finished operation is not run again

    assert journal.calls == ["a", "b", "c"]
    operation, steps = load(operation_id)
    assert operation.status == "succeeded"
    assert operation.started_at is not None
    assert operation.finished_at is not None
    assert [(s.status, s.attempts) for s in steps.values()] == [("done", 1)] * 3
    assert steps["b"].detail["changes"] == ["ran b"]
    assert seen == [("start", "running"), ("success", "succeeded")]


def test_observers_are_told_of_every_step_in_order(runner: OperationRunner) -> None:
    journal = Journal()
    plan = make_plan(journal, steps=("one", "two"))
    told: list[tuple[str, str]] = []

    def observer(
        session: Session, operation: Operation, action: str, outcome: str, detail: Any
    ) -> None:
        if operation.kind == plan.kind:
            told.append((action, outcome))

    observe(observer)
    runner.run(start(plan.kind))
    assert told == [
        ("operation.started", "started"),
        ("saga.one", "succeeded"),
        ("saga.two", "succeeded"),
        ("operation.succeeded", "succeeded"),
    ]


def test_a_resumed_operation_skips_the_steps_already_done(runner: OperationRunner) -> None:
    journal = Journal()
    plan = make_plan(journal)
    operation_id = start(plan.kind)
    set_step(operation_id, "a", "running")
    set_step(operation_id, "a", "done")

    runner.run(operation_id)

    assert journal.calls == ["b", "c"]
    operation, steps = load(operation_id)
    assert operation.status == "succeeded"
    assert steps["a"].attempts == 0


def test_temporary_failures_come_back_later_with_a_growing_delay(
    runner: OperationRunner,
) -> None:
    journal = Journal(fail={"b": ("temporary", 2)})
    plan = make_plan(journal)
    operation_id = start(plan.kind)

    delays = []
    for _ in range(2):
        with pytest.raises(RetryLater) as later:
            runner.run(operation_id)
        delays.append(later.value.delay)
        operation, steps = load(operation_id)
        assert operation.status == "running"
        assert steps["b"].status == "pending"
        assert "not reachable yet" in (steps["b"].error or "")
    assert delays == [0.5, 1.0]  # base, then doubled

    runner.run(operation_id)
    operation, steps = load(operation_id)
    assert operation.status == "succeeded"
    assert steps["b"].attempts == 3
    assert steps["b"].error is None
    assert journal.calls == ["a", "b", "b", "b", "c"]  # a is never run again


def test_temporary_failures_past_the_retry_limit_fail_the_operation(
    runner: OperationRunner,
) -> None:
    journal = Journal(fail={"a": ("temporary", None)})
    plan = make_plan(journal)
    operation_id = start(plan.kind)
    for _ in range(2):
        with pytest.raises(RetryLater):
            runner.run(operation_id)
    runner.run(operation_id)  # the third attempt is the last (step_retry_limit = 3)

    operation, steps = load(operation_id)
    assert operation.status == "failed"
    assert operation.error is not None
    assert "gave up after 3 attempts" in operation.error
    assert steps["a"].status == "failed"
    assert steps["b"].status == "pending"


def test_a_permanent_failure_undoes_what_was_done_newest_first(
    runner: OperationRunner,
) -> None:
    journal = Journal(fail={"c": ("permanent", None)})
    plan = make_plan(journal, compensate=True)
    failures: list[str | None] = []
    on(plan.kind, When.FAILURE, lambda session, operation: failures.append(operation.error))
    operation_id = start(plan.kind)

    runner.run(operation_id)

    assert journal.calls == ["a", "b", "c", "undo c", "undo b", "undo a"]
    operation, steps = load(operation_id)
    assert operation.status == "failed"
    assert operation.error == "c: c refused (next: fix it)"
    assert failures == [operation.error]
    assert [steps[name].status for name in "abc"] == ["undone", "undone", "failed"]
    assert steps["a"].detail["undone"] == ["undid a"]


def test_a_plan_that_does_not_compensate_keeps_what_was_done(runner: OperationRunner) -> None:
    journal = Journal(fail={"b": ("permanent", None)})
    plan = make_plan(journal)
    operation_id = start(plan.kind)
    runner.run(operation_id)
    assert journal.calls == ["a", "b"]
    _, steps = load(operation_id)
    assert [steps[name].status for name in "abc"] == ["done", "failed", "pending"]


def test_an_undo_that_fails_is_named_in_the_error(runner: OperationRunner) -> None:
    journal = Journal(fail={"b": ("permanent", None), "undo a": ("permanent", None)})
    plan = make_plan(journal, compensate=True)
    operation_id = start(plan.kind)
    runner.run(operation_id)
    operation, steps = load(operation_id)
    assert operation.status == "failed"
    assert operation.error is not None
    assert "could not undo: a (undo of a refused)" in operation.error
    assert steps["a"].status == "done"  # it could not be undone: it says so


def test_a_step_left_running_by_a_dead_worker_is_run_again_and_counted(
    runner: OperationRunner,
) -> None:
    journal = Journal()
    plan = make_plan(journal, max_starts=3)
    operation_id = start(plan.kind)
    set_step(operation_id, "a", "running", interrupted=1)

    runner.run(operation_id)

    assert journal.calls == ["a", "b", "c"]
    operation, steps = load(operation_id)
    assert operation.status == "succeeded"
    assert steps["a"].detail["interrupted"] == 2


def test_a_step_whose_workers_keep_dying_fails_after_max_starts(
    runner: OperationRunner,
) -> None:
    journal = Journal()
    plan = make_plan(journal, max_starts=3, compensate=True)
    operation_id = start(plan.kind)
    set_step(operation_id, "a", "running")
    set_step(operation_id, "a", "done")
    set_step(operation_id, "b", "running", interrupted=2)

    runner.run(operation_id)

    operation, steps = load(operation_id)
    assert operation.status == "failed"
    assert operation.error is not None
    assert "its worker stopped 3 times" in operation.error
    assert steps["b"].status == "failed"
    assert journal.calls == ["undo b", "undo a"]  # b may have been part-done: undone too


def test_an_operation_of_an_unknown_kind_fails_cleanly(runner: OperationRunner) -> None:
    with new_session() as session:
        operation = Operation(
            lane=f"test:{uuid.uuid4()}", kind="test.no-such-plan", requested_by="test"
        )
        session.add(operation)
        session.commit()
        operation_id = operation.id

    runner.run(operation_id)

    operation, steps = load(operation_id)
    assert operation.status == "failed"
    assert operation.error == "no plan is registered for operations of kind 'test.no-such-plan'"
    assert operation.finished_at is not None
    assert steps == {}


def test_an_operation_locked_by_another_runner_is_left_to_it(runner: OperationRunner) -> None:
    journal = Journal()
    plan = make_plan(journal)
    operation_id = start(plan.kind)
    with operation_lock(operation_id) as mine:
        assert mine
        runner.run(operation_id)
        assert journal.calls == []
        assert load(operation_id)[0].status == "pending"
    runner.run(operation_id)
    assert journal.calls == ["a", "b", "c"]


def test_two_runners_at_once_run_each_step_once(runner: OperationRunner) -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        inside.set()
        assert release.wait(30)

    journal = Journal(while_running={"b": hold})
    plan = make_plan(journal)
    operation_id = start(plan.kind)
    first = threading.Thread(target=runner.run, args=(operation_id,))
    first.start()
    try:
        assert inside.wait(30)
        runner.run(operation_id)  # the second runner finds the lock taken and returns
        assert journal.calls == ["a", "b"]
    finally:
        release.set()
        first.join(30)
    assert journal.calls == ["a", "b", "c"]
    assert load(operation_id)[0].status == "succeeded"
