"""Celery tasks of the audit trail: checkpointing the chain's head outside the database."""

from __future__ import annotations

from celery import shared_task

from taas.audit.service import write_checkpoint
from taas.kit.db import new_session

CHECKPOINT = "taas.audit.checkpoint"


@shared_task(name=CHECKPOINT)  # type: ignore[untyped-decorator]
def checkpoint_head() -> int | None:
    """Run by beat every ``audit_checkpoint_interval_s``: checkpoint the head if it moved;
    returns the sequence number checkpointed."""
    with new_session() as session:
        written = write_checkpoint(session)
    return written.seq if written else None
