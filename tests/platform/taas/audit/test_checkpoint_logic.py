"""Pure logic of checkpoints: their signature, and comparing a chain with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from taas.audit.checkpoints import BadCheckpoint, Checkpoint, decode, encode, object_key
from taas.audit.models import AuditEvent, AuditHead
from taas.audit.repository import GENESIS, _hash_of, verify_chain

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


class ChainInMemory:
    """What verify_chain reads from the repository: the events in order and the head."""

    def __init__(self, length: int) -> None:
        self.events: list[AuditEvent] = []
        prev = GENESIS
        for seq in range(1, length + 1):
            event = AuditEvent(
                seq=seq, occurred_at=NOW, actor="a", action="x", tenant_id=None,
                request_id=None, outcome="accepted", detail={"n": seq}, prev_hash=prev,
            )  # fmt: skip
            event.hash = _hash_of(event)
            self.events.append(event)
            prev = event.hash
        self.head_row = AuditHead(id=1, seq=length, hash=prev)

    def walk(self) -> Iterator[AuditEvent]:
        yield from self.events

    def head(self) -> AuditHead:
        return self.head_row

    def checkpoint(self, seq: int) -> Checkpoint:
        return Checkpoint("c", seq, self.events[seq - 1].hash, NOW)


def test_a_checkpoint_is_signed_and_a_foreign_or_altered_one_refused() -> None:
    checkpoint = Checkpoint("chain", 42, "f" * 64, NOW)
    data = encode(checkpoint, "key")
    assert decode(data, "key") == checkpoint
    with pytest.raises(BadCheckpoint):
        decode(data, "another key")
    with pytest.raises(BadCheckpoint):
        decode(data.replace(b'"seq": 42', b'"seq": 41'), "key")
    with pytest.raises(BadCheckpoint):
        decode(b"forged", "key")
    assert object_key("chain", 42) == "chain/checkpoints/00000000000000000042.json"


def test_an_intact_chain_matches_its_checkpoints() -> None:
    chain = ChainInMemory(5)
    report = verify_chain(chain, checkpoints=[chain.checkpoint(2), chain.checkpoint(5)])
    assert report.ok, report.problems
    assert (report.checkpoints, report.anchored_seq) == (2, 5)


def test_a_rehashed_rewrite_passes_alone_but_not_against_a_checkpoint() -> None:
    chain = ChainInMemory(6)
    anchors = [chain.checkpoint(4)]
    chain.events[2].detail = {"forged": True}
    prev = chain.events[1].hash
    for event in chain.events[2:]:
        event.prev_hash = prev
        event.hash = _hash_of(event)
        prev = event.hash
    chain.head_row.hash = prev
    assert verify_chain(chain).ok
    report = verify_chain(chain, checkpoints=anchors)
    assert not report.ok
    assert report.problems[0].startswith("event 4 differs from the checkpoint")


def test_a_truncation_behind_the_newest_checkpoint_is_found() -> None:
    chain = ChainInMemory(6)
    anchors = [chain.checkpoint(5)]
    del chain.events[4:]
    chain.head_row = AuditHead(id=1, seq=4, hash=chain.events[-1].hash)
    assert verify_chain(chain).ok
    report = verify_chain(chain, checkpoints=anchors)
    assert report.problems == [
        "a checkpoint records event 5 but the chain ends at event 4: "
        "the newest events were deleted and the head moved back"
    ]
