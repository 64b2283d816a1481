"""The outbox on the real database, broker and worker: an operation reaches the workers only
once the transaction that recorded it has committed, and the relay sends what a dead
process committed but never sent, and what a dead worker left stalled.

The operations here are of a kind the worker has no plan for (test plans live in the test
process only): the worker ending one ``failed`` with "no plan is registered" is the proof
that it received it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import update

from conftest import Worker
from operations_support import Journal, load, make_plan, start
from support import wait_for
from taas.kit.db import new_session, utcnow
from taas.operations import outbox, tasks
from taas.operations.models import Operation
from taas.operations.repository import OperationRepository


def _received_by_the_worker(operation_id: uuid.UUID) -> bool:
    operation, _ = load(operation_id)
    return operation.status == "failed" and "no plan is registered" in (operation.error or "")


def _backdate(operation_id: uuid.UUID, seconds: float) -> None:
    past = utcnow() - dt.timedelta(seconds=seconds)
    with new_session() as session:
        session.execute(
            update(Operation)
            .where(Operation.id == operation_id)
            .values(created_at=past, updated_at=past)
        )
        session.commit()


def test_an_operation_is_sent_after_its_transaction_commits(worker: Worker) -> None:
    plan = make_plan(Journal())
    with new_session() as session:
        operation = OperationRepository(session).start(
            lane=f"test:{uuid.uuid4()}",
            kind=plan.kind,
            requested_by="test",
            request_id=None,
            traceparent=None,
        )
        session.flush()
        assert session.info[outbox._PENDING] == [operation.id]
        assert operation.dispatched_at is None  # nothing is sent before the commit
        session.commit()
        operation_id = operation.id
        assert outbox._PENDING not in session.info
    dispatched, _ = load(operation_id)
    assert dispatched.dispatched_at is not None
    wait_for(lambda: _received_by_the_worker(operation_id), what="the worker to receive it")


def test_an_operation_rolled_back_is_never_sent() -> None:
    plan = make_plan(Journal())
    with new_session() as session:
        operation = OperationRepository(session).start(
            lane=f"test:{uuid.uuid4()}",
            kind=plan.kind,
            requested_by="test",
            request_id=None,
            traceparent=None,
        )
        session.flush()
        operation_id = operation.id
        session.rollback()
        assert outbox._PENDING not in session.info
        session.commit()  # a later commit of the same session sends nothing either
    with new_session() as session:
        assert session.get(Operation, operation_id) is None


def test_the_relay_sends_what_a_dead_process_committed_but_never_sent(worker: Worker) -> None:
    plan = make_plan(Journal())
    # The process dies between the commit and the send: the row is there, never sent.
    with new_session() as session:
        operation = OperationRepository(session).start(
            lane=f"test:{uuid.uuid4()}",
            kind=plan.kind,
            requested_by="test",
            request_id=None,
            traceparent=None,
        )
        session.info.pop(outbox._PENDING)
        session.commit()
        operation_id = operation.id
    assert load(operation_id)[0].dispatched_at is None
    _backdate(operation_id, 60)

    relayed = tasks.relay()  # or the worker's own relay, if it got there first

    assert relayed >= 0
    assert load(operation_id)[0].dispatched_at is not None
    wait_for(lambda: _received_by_the_worker(operation_id), what="the worker to receive it")


def test_the_relay_picks_never_sent_and_stalled_operations_only() -> None:
    plan = make_plan(Journal())
    never_sent = start(plan.kind, send=False)
    stalled = start(plan.kind, send=False)
    fresh = start(plan.kind, send=False)
    with new_session() as session:  # never_sent: as if the process died before the send
        session.execute(
            update(Operation).where(Operation.id == never_sent).values(dispatched_at=None)
        )
        session.commit()
    _backdate(never_sent, 60)
    _backdate(stalled, 600)  # dispatched, but nobody touched it for ten minutes
    now = utcnow()
    with new_session() as session:
        due = OperationRepository(session).to_relay(
            created_before=now - dt.timedelta(seconds=30),
            stalled_before=now - dt.timedelta(seconds=300),
        )
    assert never_sent in due
    assert stalled in due
    assert fresh not in due
    # they are of a test kind no worker knows: close them before any relay sends them
    with new_session() as session:
        for operation_id in (never_sent, stalled, fresh):
            row = session.get(Operation, operation_id)
            assert row is not None
            row.status = "failed"
        session.commit()


def test_the_relay_resends_a_stalled_operation(worker: Worker) -> None:
    plan = make_plan(Journal())
    operation_id = start(plan.kind)  # dispatched to a worker that then died
    _backdate(operation_id, 600)
    tasks.relay()
    wait_for(lambda: _received_by_the_worker(operation_id), what="the worker to receive it")


def test_a_stalled_operation_is_handed_on_once_per_stall_window() -> None:
    plan = make_plan(Journal())
    operation_id = start(plan.kind)
    _backdate(operation_id, 600)  # dispatched, then nobody touched it for ten minutes
    now = utcnow()
    window = {
        "created_before": now - dt.timedelta(seconds=30),
        "stalled_before": now - dt.timedelta(seconds=300),
    }
    with new_session() as session:
        repo = OperationRepository(session)
        assert operation_id in repo.to_relay(**window)
        repo.mark_dispatched([operation_id])  # what the relay does once it sent it
        session.commit()
        # the next relay passes leave it alone until it has stalled for a window again
        assert operation_id not in repo.to_relay(**window)
        row = session.get(Operation, operation_id)
        assert row is not None
        row.status = "failed"  # a test kind no worker knows: close it
        session.commit()
