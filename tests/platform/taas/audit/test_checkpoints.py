"""The audit chain is anchored outside the database by signed checkpoints under object lock.

Whoever can write the database can rewrite an event and recompute every later hash and
the head, or delete the newest events and move the head back: the chain alone still
verifies. The checkpoints (signed with a key the database never holds, in a MinIO bucket
in compliance mode) do not move, and ``GET /v1/audit/verify`` compares the chain with them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.retention import Retention
from psycopg.types.json import Jsonb

from catalog_support import VendorAccount
from conftest import ControlPlane
from support import wait_for
from taas.audit.checkpoints import Checkpoint, encode, object_key
from taas.audit.repository import APPEND_LOCK, AuditRepository, event_hash, verify_chain
from taas.integrations.checkpoints import checkpoint_store
from taas.kit.db import new_session

Headers = dict[str, str]
COLUMNS = "seq, occurred_at, actor, action, tenant_id, request_id, outcome, detail, prev_hash, hash"


def _verify(api: Any, headers: Headers) -> dict[str, Any]:
    response = api.get("/v1/audit/verify", headers=headers)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def _chain_alone_verifies() -> bool:
    """What `audit verify` said before checkpoints: the hash chain and its head only."""
    with new_session() as session:
        return verify_chain(AuditRepository(session)).ok


def _anchored(api: Any, auditor: Headers, control_plane: ControlPlane) -> int:
    """Wait until the beat task has checkpointed the current head; return its seq."""
    with psycopg.connect(control_plane.database_url) as conn:
        (head,) = conn.execute("SELECT seq FROM audit_head").fetchone() or (0,)

    def covered() -> int | None:
        report = _verify(api, auditor)
        assert report["ok"], report
        seq = report["anchored_seq"]
        return seq if seq is not None and seq >= head else None

    anchored: int = wait_for(covered, timeout=60, what=f"a checkpoint of event {head}")
    return anchored


@contextlib.contextmanager
def quiet_chain(control_plane: ControlPlane) -> Iterator[psycopg.Connection[Any]]:
    """A connection holding the append lock: nothing appends and no checkpoint is written
    while the test rewrites the chain, so no checkpoint ever records a forged head."""
    with psycopg.connect(control_plane.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (APPEND_LOCK,))
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (APPEND_LOCK,))


def _rows(conn: psycopg.Connection[Any], first: int) -> list[dict[str, Any]]:
    cursor = conn.execute(
        f"SELECT {COLUMNS} FROM audit_events WHERE seq >= %s ORDER BY seq",  # noqa: S608
        (first,),
    )
    names = [column.name for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _write(conn: psycopg.Connection[Any], row: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE audit_events SET detail = %s, prev_hash = %s, hash = %s WHERE seq = %s",
        (Jsonb(row["detail"]), row["prev_hash"], row["hash"], row["seq"]),
    )


def _insert(conn: psycopg.Connection[Any], row: dict[str, Any]) -> None:
    values = [Jsonb(v) if isinstance(v, dict) else v for v in row.values()]
    conn.execute(
        f"INSERT INTO audit_events ({COLUMNS}) VALUES ({', '.join(['%s'] * len(values))})",  # noqa: S608
        values,
    )


def _set_head(conn: psycopg.Connection[Any], seq: int, hash_: str) -> None:
    conn.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, hash_))


def _rehash(row: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    fields = {k: v for k, v in row.items() if k != "hash"} | {"prev_hash": prev_hash}
    return fields | {"hash": event_hash(**fields)}


def test_a_rewritten_and_rehashed_chain_is_detected(
    api: Any,
    auditor: Headers,
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
) -> None:
    make_vendor(), make_vendor()  # events to rewrite, then wait for their checkpoint
    anchored = _anchored(api, auditor, control_plane)
    with quiet_chain(control_plane) as conn:
        _rewrite_and_rehash(api, auditor, conn, anchored)
    assert _verify(api, auditor)["ok"] is True


def _rewrite_and_rehash(
    api: Any, auditor: Headers, conn: psycopg.Connection[Any], anchored: int
) -> None:
    (head_seq,) = conn.execute("SELECT seq FROM audit_head").fetchone() or (0,)
    target = anchored - 1  # an event a checkpoint vouches for (through its successor)
    original = _rows(conn, target)
    forged, prev = [], original[0]["prev_hash"]
    for row in original:
        changed = row | ({"detail": {"forged": True}} if row["seq"] == target else {})
        forged.append(_rehash(changed, prev))
        prev = forged[-1]["hash"]
    try:
        for row in forged:
            _write(conn, row)
        _set_head(conn, head_seq, forged[-1]["hash"])
        assert _chain_alone_verifies(), "the rehashed chain is consistent by itself"
        report = _verify(api, auditor)
        assert report["ok"] is False
        problems = " ".join(report["problems"])
        assert f"event {anchored} differs from the checkpoint" in problems
        assert "rewritten" in problems
    finally:
        for row in original:
            _write(conn, row)
        _set_head(conn, original[-1]["seq"], original[-1]["hash"])


def test_deleting_the_newest_events_and_moving_the_head_back_is_detected(
    api: Any,
    auditor: Headers,
    control_plane: ControlPlane,
    make_vendor: Callable[[], VendorAccount],
) -> None:
    make_vendor(), make_vendor()
    anchored = _anchored(api, auditor, control_plane)
    with quiet_chain(control_plane) as conn:
        _truncate(api, auditor, conn, anchored)
    assert _verify(api, auditor)["ok"] is True


def _truncate(api: Any, auditor: Headers, conn: psycopg.Connection[Any], anchored: int) -> None:
    cut = anchored - 1  # keep events up to here: the newest checkpointed one goes
    removed = _rows(conn, cut + 1)
    (kept_hash,) = conn.execute(
        "SELECT hash FROM audit_events WHERE seq = %s", (cut,)
    ).fetchone() or ("",)
    try:
        conn.execute("DELETE FROM audit_events WHERE seq > %s", (cut,))
        _set_head(conn, cut, kept_hash)
        assert _chain_alone_verifies(), "the truncated chain is consistent by itself"
        report = _verify(api, auditor)
        assert report["ok"] is False
        problems = " ".join(report["problems"])
        assert f"but the chain ends at event {cut}: the newest events were deleted" in problems
    finally:
        for row in removed:
            _insert(conn, row)
        _set_head(conn, removed[-1]["seq"], removed[-1]["hash"])


def test_checkpoints_cannot_be_deleted_overwritten_or_unlocked(
    api: Any, auditor: Headers, control_plane: ControlPlane, make_vendor: Callable[..., Any]
) -> None:
    make_vendor()
    _anchored(api, auditor, control_plane)
    store = checkpoint_store()
    bucket = store.bucket
    # The attacks are made with MinIO's root account: the platform's own identity may not
    # even ask to delete (its policy only appends), and root is refused by the lock.
    s3 = Minio(
        os.environ["TAAS_MINIO_ENDPOINT"],
        access_key=os.environ["TAAS_MINIO_ROOT_USER"],
        secret_key=os.environ["TAAS_MINIO_ROOT_PASSWORD"],
        secure=False,
    )
    prefix = os.environ["TAAS_AUDIT_CHECKPOINT_PREFIX"]
    real = next(iter(store.versions(f"{prefix}/checkpoints/")))
    retention = s3.get_object_retention(bucket, real.key, version_id=real.version_id)
    assert retention is not None
    assert retention.mode == COMPLIANCE
    with pytest.raises(S3Error):  # not even the root account may delete a locked version
        s3.remove_object(bucket, real.key, version_id=real.version_id)
    with pytest.raises(S3Error):  # nor shorten its retention
        s3.set_object_retention(
            bucket,
            real.key,
            Retention(COMPLIANCE, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)),
            version_id=real.version_id,
        )
    assert next(iter(s3.list_objects(bucket, prefix=real.key, include_version=True)))
    with pytest.raises(S3Error, match="AccessDenied"):
        store.s3.remove_object(bucket, real.key)  # the platform cannot even add a marker

    # Overwriting and "deleting" (a delete marker), in a chain of its own so that the
    # session's chain keeps verifying: the original version stays, and readers see it.
    other = f"{prefix}-lock-test"
    key = object_key(other, 1)
    genuine = encode(Checkpoint(other, 1, "a" * 64, dt.datetime.now(dt.UTC)), "k")
    version = store.put(key, genuine)
    s3.put_object(bucket, key, io.BytesIO(b"forged"), 6)
    s3.remove_object(bucket, key)  # only adds a delete marker
    with pytest.raises(S3Error):
        s3.remove_object(bucket, key, version_id=version)
    versions = {v.version_id: v for v in store.versions(f"{other}/checkpoints/")}
    assert version in versions
    assert store.read(versions[version]) == genuine
