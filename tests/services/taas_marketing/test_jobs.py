"""The job runner: progress, results and errors, tenants kept apart, bounded work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import HTTPException
from taas_marketing.errors import InvalidFile, NotFound, TooManyJobs
from taas_marketing.jobs import TRANSITIONS, Job, JobRunner, JobState, Progress, new_job_id

WAIT_S = 30.0


@pytest.fixture
def runner() -> Iterator[JobRunner[str]]:
    jobs = JobRunner[str](workers=2, max_in_flight_per_tenant=2, max_in_flight=3, keep_per_tenant=3)
    yield jobs
    jobs.shutdown(wait=False)


def wait_until(
    runner: JobRunner[str], tenant: str, job_id: str, done: Callable[[Job[str]], bool]
) -> Job[str]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        job = runner.get(tenant, job_id)
        if done(job):
            return job
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} never got there: {runner.get(tenant, job_id)}")


def finished(job: Job[str]) -> bool:
    return job.state in (JobState.SUCCEEDED, JobState.FAILED)


def test_progress_is_reported_stage_by_stage_then_the_result(runner: JobRunner[str]) -> None:
    step = threading.Event()
    go_on = threading.Event()

    def work(report: Progress) -> str:
        report("parsing", 10)
        step.set()
        assert go_on.wait(WAIT_S)
        report("clustering", 60)
        report("late report of an earlier stage", 30)  # progress never goes back
        return "segments"

    job = runner.submit("bank-a", work, context={"k": 6})
    assert job.state == JobState.QUEUED
    assert (job.progress, job.stage) == (0, "queued")
    assert step.wait(WAIT_S)
    running = runner.get("bank-a", job.id)
    assert (running.state, running.stage, running.progress) == (JobState.RUNNING, "parsing", 10)
    assert running.started_at is not None
    go_on.set()
    done = wait_until(runner, "bank-a", job.id, finished)
    assert (done.state, done.stage, done.progress, done.result) == (
        JobState.SUCCEEDED,
        "done",
        100,
        "segments",
    )
    assert done.context == {"k": 6}
    assert done.finished_at is not None


def test_failures_keep_their_status_and_hide_internals(runner: JobRunner[str]) -> None:
    def invalid(report: Progress) -> str:
        raise InvalidFile("2 transaction(s) are unusable", hint="fix them", errors=["line 3: x"])

    def missing(report: Progress) -> str:
        raise HTTPException(404, "no object 'uploads/x.csv' in the tenant's storage")

    def broken(report: Progress) -> str:
        raise KeyError("secret internals")

    errors = {}
    for name, work in {"invalid": invalid, "missing": missing, "broken": broken}.items():
        job = runner.submit("bank-a", work)
        errors[name] = wait_until(runner, "bank-a", job.id, finished)
        assert errors[name].state == JobState.FAILED
    invalid_error = errors["invalid"].error
    assert invalid_error is not None
    assert (invalid_error.status, invalid_error.hint, invalid_error.errors) == (
        422,
        "fix them",
        ("line 3: x",),
    )
    assert errors["missing"].error is not None
    assert errors["missing"].error.status == 404
    internal = errors["broken"].error
    assert internal is not None
    assert internal.status == 500
    assert "secret" not in internal.detail
    assert errors["broken"].id in internal.detail


def test_one_tenant_never_sees_another_tenants_jobs(runner: JobRunner[str]) -> None:
    job = runner.submit("bank-a", lambda report: "a's result")
    wait_until(runner, "bank-a", job.id, finished)
    with pytest.raises(NotFound):
        runner.get("bank-b", job.id)
    assert runner.list("bank-b") == []
    assert [j.id for j in runner.list("bank-a")] == [job.id]


def test_jobs_in_flight_are_bounded_per_tenant_and_overall(runner: JobRunner[str]) -> None:
    release = threading.Event()

    def blocked(report: Progress) -> str:
        assert release.wait(WAIT_S)
        return "ok"

    try:
        runner.submit("bank-a", blocked)
        runner.submit("bank-a", blocked)
        with pytest.raises(TooManyJobs, match="2 jobs of yours"):
            runner.submit("bank-a", blocked)
        runner.submit("bank-b", blocked)
        with pytest.raises(TooManyJobs, match="busy"):
            runner.submit("bank-c", blocked)
    finally:
        release.set()
    for job in runner.list("bank-a"):
        wait_until(runner, "bank-a", job.id, finished)
    runner.submit("bank-a", lambda report: "room again")


def test_only_the_last_finished_jobs_are_kept(runner: JobRunner[str]) -> None:
    ids = []

    def work(report: Progress) -> str:
        return "result"

    for _ in range(5):
        job = runner.submit("bank-a", work)
        wait_until(runner, "bank-a", job.id, finished)
        ids.append(job.id)
    assert [job.id for job in runner.list("bank-a")] == [ids[4], ids[3], ids[2]]
    with pytest.raises(NotFound):
        runner.get("bank-a", ids[0])


def test_states_move_only_forward() -> None:
    assert TRANSITIONS[JobState.SUCCEEDED] == frozenset()
    assert TRANSITIONS[JobState.FAILED] == frozenset()
    assert JobState.QUEUED not in TRANSITIONS[JobState.RUNNING]


def test_the_journal_sees_the_queued_then_the_finished_job(runner: JobRunner[str]) -> None:
    seen: list[tuple[str, JobState]] = []
    job = runner.submit(
        "bank-a", lambda report: "done", journal=lambda j: seen.append((j.id, j.state))
    )
    wait_until(runner, "bank-a", job.id, finished)
    deadline = time.monotonic() + WAIT_S
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [(job.id, JobState.QUEUED), (job.id, JobState.SUCCEEDED)]


def test_a_journal_that_cannot_record_the_job_queues_nothing(runner: JobRunner[str]) -> None:
    ran = threading.Event()

    def refuse(job: Job[Any]) -> None:
        raise OSError("storage down")

    def work(report: Progress) -> str:
        ran.set()
        return "done"

    with pytest.raises(OSError, match="storage down"):
        runner.submit("bank-a", work, journal=refuse)
    assert runner.list("bank-a") == []
    assert not ran.wait(0.2)


def test_job_ids_sort_by_creation_time() -> None:
    first = new_job_id()
    time.sleep(0.002)
    second = new_job_id()
    assert len(first) == len(second) == 32
    assert first < second
