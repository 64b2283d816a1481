"""The approval request lifecycle: pending until decided, expired or withdrawn; then final."""

from __future__ import annotations

import pytest

from taas.approvals.models import Approval
from taas.approvals.states import APPROVAL, ApprovalStatus
from taas.kit.states import GUARDED, IllegalTransition

DECISIONS = [
    ApprovalStatus.APPROVED,
    ApprovalStatus.REJECTED,
    ApprovalStatus.CANCELLED,
    ApprovalStatus.EXPIRED,
]


def test_a_pending_request_can_be_decided_any_way() -> None:
    assert APPROVAL.initial == ApprovalStatus.PENDING
    assert APPROVAL.next_of(ApprovalStatus.PENDING) == frozenset(DECISIONS)


@pytest.mark.parametrize("decided", DECISIONS)
def test_a_decision_is_final(decided: ApprovalStatus) -> None:
    assert decided in APPROVAL.final()
    for other in ApprovalStatus:
        with pytest.raises(IllegalTransition):
            APPROVAL.check(decided, other)


def test_the_status_column_is_guarded() -> None:
    assert GUARDED[(Approval, "status")] is APPROVAL
    row = Approval(status=ApprovalStatus.PENDING)
    row.status = ApprovalStatus.APPROVED
    with pytest.raises(IllegalTransition):
        row.status = ApprovalStatus.REJECTED
