"""Signed checkpoints of the audit chain's head, the chain's anchor outside the database.

A checkpoint says "event ``seq`` of chain ``chain`` had hash ``hash``", signed with
HMAC-SHA256 under ``TAAS_AUDIT_CHECKPOINT_KEY``, a key the database never holds. Someone
who can write the database can recompute every hash after an event they changed, or delete
the newest events and move the head back, and the chain alone still verifies; the
checkpoints written before (kept under object lock) then disagree with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

FORMAT = "taas-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """The head of one audit chain at one moment."""

    chain: str
    seq: int
    hash: str
    written_at: dt.datetime


def object_key(chain: str, seq: int) -> str:
    """Where the checkpoint of event ``seq`` is stored (zero-padded: listed in order)."""
    return f"{chain}/checkpoints/{seq:020d}.json"


def _mac(key: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def encode(checkpoint: Checkpoint, key: str) -> bytes:
    """The stored form: the fields and their HMAC."""
    fields: dict[str, Any] = {
        "format": FORMAT,
        "chain": checkpoint.chain,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "written_at": checkpoint.written_at.astimezone(dt.UTC).isoformat(),
    }
    return json.dumps({**fields, "signature": _mac(key, fields)}, indent=1).encode()


class BadCheckpoint(ValueError):
    """A stored object that is not a checkpoint signed with the key in force."""


def decode(data: bytes, key: str) -> Checkpoint:
    """The checkpoint in ``data``; raises BadCheckpoint unless ``key`` signed it."""
    try:
        body = json.loads(data)
        fields = {name: body[name] for name in ("format", "chain", "seq", "hash", "written_at")}
        signature = str(body["signature"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCheckpoint("not a checkpoint") from exc
    if not hmac.compare_digest(signature, _mac(key, fields)):
        raise BadCheckpoint("its signature does not verify with the checkpoint key")
    if fields["format"] != FORMAT or not isinstance(fields["seq"], int):
        raise BadCheckpoint(f"unknown format {fields['format']!r}")
    return Checkpoint(
        chain=str(fields["chain"]),
        seq=fields["seq"],
        hash=str(fields["hash"]),
        written_at=dt.datetime.fromisoformat(str(fields["written_at"])),
    )
