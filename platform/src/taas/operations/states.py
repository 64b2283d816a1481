"""Operation and step statuses, as declared lifecycles.

An operation is ``pending`` until a worker starts it and ends ``succeeded`` or ``failed``;
a failed one is never reopened (a retry is a new operation). A step goes ``running`` each
time a worker starts it, back to ``pending`` when it must be tried again later, and ends
``done`` or ``failed``; a done step of a failed plan that compensates becomes ``undone``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from taas.kit.states import Lifecycle


class OperationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"


Op, T = OperationStatus, StepStatus

OPERATION: Final = Lifecycle(
    "operation",
    OperationStatus,
    {
        Op.PENDING: {Op.RUNNING, Op.FAILED},
        Op.RUNNING: {Op.SUCCEEDED, Op.FAILED},
        Op.SUCCEEDED: set(),
        Op.FAILED: set(),
    },
    initial=Op.PENDING,
)

STEP: Final = Lifecycle(
    "operation step",
    StepStatus,
    {
        T.PENDING: {T.RUNNING, T.FAILED},
        T.RUNNING: {T.DONE, T.FAILED, T.PENDING},
        T.DONE: {T.UNDONE},
        T.FAILED: set(),
        T.UNDONE: set(),
    },
    initial=T.PENDING,
)

OPEN: Final = (OperationStatus.PENDING, OperationStatus.RUNNING)
