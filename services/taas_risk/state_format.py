"""What the risk state looks like in the tenant's bucket: the object keys, the JSON
documents of rules and blacklist, and the packed, gzipped history. Each reader refuses
anything it does not fully understand (``ValueError`` saying what); ``taas_risk.durable``
decides when they are read and written."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Iterable
from typing import Annotated, Final, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from taas_risk.rules import BlacklistKind, RiskRules
from taas_risk.store import DIGEST_SIZE, KEY_SIZE, BlacklistEntry, HistorySnapshot

_Number = TypeVar("_Number", np.uint32, np.int64, np.float64)
RULES_KEY = "state/rules.json"
BLACKLIST_KEY = "state/blacklist.json"
HISTORY_KEY = "state/history.bin.gz"
REVISION_KEY = "state/revision.json"
FORMAT: Final = 1
"""The version of the stored documents; a reader refuses any other."""
HISTORY_MAGIC = b"TAAS-RISK-HISTORY\n"


class _Stored(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    format: Literal[1]


class _StoredRules(_Stored):
    """``state/rules.json``."""

    rules: RiskRules


class _StoredEntry(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    kind: BlacklistKind
    value: Annotated[str, Field(min_length=1)]
    reason: str = ""
    added_at: float


class _StoredBlacklist(_Stored):
    """``state/blacklist.json``."""

    entries: list[_StoredEntry]


class _HistoryHeader(_Stored):
    """The JSON line at the top of ``state/history.bin.gz``."""

    saved_at: float
    key: str
    """The tenant's hash key, base64."""
    sequence: NonNegativeInt
    last_at: float
    identifiers: NonNegativeInt
    entries: NonNegativeInt
    applications: NonNegativeInt


def encode_history(snapshot: HistorySnapshot, saved_at: float, level: int = 1) -> bytes:
    """The history object: a magic line, a JSON header line, then the packed
    little-endian arrays (hashes, per-hash counts, times, sequence numbers, application
    hashes and times), gzipped; level 1 because it is written on the request path."""
    header = _HistoryHeader(
        format=FORMAT,
        saved_at=saved_at,
        key=base64.b64encode(snapshot.key).decode(),
        sequence=snapshot.sequence,
        last_at=snapshot.last_at,
        identifiers=len(snapshot.counts),
        entries=len(snapshot.times),
        applications=len(snapshot.application_times),
    )
    parts = [
        HISTORY_MAGIC,
        header.model_dump_json().encode() + b"\n",
        snapshot.digests,
        snapshot.counts.astype("<u4").tobytes(),
        snapshot.times.astype("<f8").tobytes(),
        snapshot.sequences.astype("<i8").tobytes(),
        snapshot.application_digests,
        snapshot.application_times.astype("<f8").tobytes(),
    ]
    return gzip.compress(b"".join(parts), compresslevel=level, mtime=0)


class _Reader:
    """Reads the packed sections of a history object in order, checking every length."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data, self.offset = data, offset

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError("the history object is truncated")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def array(self, dtype: type[_Number], little_endian: str, count: int) -> npt.NDArray[_Number]:
        chunk = self.take(np.dtype(little_endian).itemsize * count)
        return np.frombuffer(chunk, dtype=little_endian).astype(dtype)


def decode_history(blob: bytes) -> HistorySnapshot:
    """The snapshot in a history object; ``ValueError`` says what is wrong with it."""
    try:
        data = gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"not gzip: {exc}") from exc
    if not data.startswith(HISTORY_MAGIC):
        raise ValueError("not a risk history object")
    end = data.find(b"\n", len(HISTORY_MAGIC))
    if end < 0:
        raise ValueError("the history object has no header")
    header = _HistoryHeader.model_validate_json(data[len(HISTORY_MAGIC) : end])
    try:
        key = base64.b64decode(header.key, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the hash key is not base64: {exc}") from exc
    if len(key) != KEY_SIZE:
        raise ValueError(f"the hash key is not {KEY_SIZE} bytes")
    reader = _Reader(data, end + 1)
    snapshot = HistorySnapshot(
        key=key,
        sequence=header.sequence,
        last_at=header.last_at,
        digests=reader.take(DIGEST_SIZE * header.identifiers),
        counts=reader.array(np.uint32, "<u4", header.identifiers),
        times=reader.array(np.float64, "<f8", header.entries),
        sequences=reader.array(np.int64, "<i8", header.entries),
        application_digests=reader.take(DIGEST_SIZE * header.applications),
        application_times=reader.array(np.float64, "<f8", header.applications),
    )
    if reader.offset != len(data) or int(snapshot.counts.sum()) != header.entries:
        raise ValueError("the history object's sections do not add up")
    return snapshot


def rules_document(rules: RiskRules) -> bytes:
    """``state/rules.json`` for ``rules``."""
    return _StoredRules(format=FORMAT, rules=rules).model_dump_json().encode()


def blacklist_document(entries: Iterable[BlacklistEntry]) -> bytes:
    """``state/blacklist.json`` for ``entries`` (sorted, so equal lists store equal)."""
    rows = [
        _StoredEntry(kind=e.kind, value=e.value, reason=e.reason, added_at=e.added_at)
        for e in sorted(entries, key=lambda e: (e.kind, e.value))
    ]
    return _StoredBlacklist(format=FORMAT, entries=rows).model_dump_json().encode()


def parse_rules(blob: bytes) -> RiskRules:
    """The rules in ``state/rules.json``; ``ValueError`` (pydantic's) if not valid."""
    return _StoredRules.model_validate_json(blob).rules


def parse_blacklist(blob: bytes) -> list[BlacklistEntry]:
    """The entries of ``state/blacklist.json``; ``ValueError`` (pydantic's) if not valid."""
    stored = _StoredBlacklist.model_validate_json(blob)
    return [BlacklistEntry(e.kind, e.value, e.reason, e.added_at) for e in stored.entries]
