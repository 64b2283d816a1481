"""Fault injection: an armed crash always strikes (a step faster than the delay cannot
outrun it) and says where; an unreachable fault store injects nothing instead of failing
the step. Crashes are real SIGKILLs, so they run in a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from support import unique_slug
from taas.operations import faults

CHILD = """
import sys
from taas.operations import faults
label, step, where = sys.argv[1:4]
if where == "before":
    faults.before(label, step)
elif where == "during":
    with faults.during(label, step):
        pass  # a step that ends long before the crash's delay
else:
    faults.after(label, step)
print("survived")
"""


def _child(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("kind", "where", "note"),
    [
        ("crash_before", "before", "before the step"),
        ("crash_during", "during", "as the step ended, before it returned"),
        ("crash_after", "after", "after the step, before its result was recorded"),
    ],
)
def test_an_armed_crash_kills_the_process_and_says_where(
    kind: str, where: str, note: str, control_plane: object
) -> None:
    label = unique_slug()
    faults.inject(label, "some.step", kind, seconds=30)
    finished = _child(label, "some.step", where)
    assert finished.returncode == -signal.SIGKILL, finished.stdout + finished.stderr
    assert faults.fired(label, "some.step") == note
    faults.clear(label, "some.step")
    assert faults.fired(label, "some.step") is None


def test_a_crash_is_taken_once(control_plane: object) -> None:
    label = unique_slug()
    faults.inject(label, "some.step", "crash_before")
    assert _child(label, "some.step", "before").returncode == -signal.SIGKILL
    assert _child(label, "some.step", "before").stdout.strip() == "survived"


def test_an_unreachable_fault_store_injects_nothing(control_plane: object) -> None:
    label = unique_slug()
    faults.inject(label, "some.step", "crash_before")
    # the same fault armed, but this process's Redis does not answer: no fault, no crash
    finished = _child(label, "some.step", "before", TAAS_REDIS_URL="redis://127.0.0.1:9/0")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "survived"
    assert "fault store unreachable" in finished.stderr
    faults.clear(label, "some.step")


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        faults.inject("any", "step", "explode")
