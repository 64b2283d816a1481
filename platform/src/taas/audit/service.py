"""Anchoring the audit chain outside the database, and verifying it against its anchor."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from taas.audit.checkpoints import BadCheckpoint, Checkpoint, decode, encode, object_key
from taas.audit.repository import AuditRepository, ChainReport, verify_chain
from taas.integrations.checkpoints import CheckpointStore, StoredObject, checkpoint_store
from taas.kit.settings import app_settings

log = logging.getLogger(__name__)
HEAD_LOCK_TIMEOUT_MS = 2000
_KEY = re.compile(r"/checkpoints/(\d{20})\.json$")
# Checkpoint versions are immutable (object lock), so each is fetched and checked once per
# process; bounded so that a huge trail cannot grow the API without limit.
_seen: dict[tuple[str, str], Checkpoint | str] = {}
_SEEN_MAX = 200_000


def write_checkpoint(session: Session, store: CheckpointStore | None = None) -> Checkpoint | None:
    """Sign and store a checkpoint of the chain's head, unless one exists for it already
    (or no checkpoint key is configured); returns what was written."""
    settings = app_settings()
    if not settings.audit_checkpoint_key:
        return None
    try:
        head = AuditRepository(session).quiet_head(HEAD_LOCK_TIMEOUT_MS)
    except OperationalError:
        log.warning("the audit append lock stayed busy; the checkpoint waits for the next run")
        return None
    finally:
        session.rollback()  # releases the append lock: appends never wait on MinIO
    if head is None:
        return None
    store = store or checkpoint_store()
    chain = settings.audit_checkpoint_prefix
    key = object_key(chain, head[0])
    if store.exists(key):
        return None
    checkpoint = Checkpoint(chain, head[0], head[1], dt.datetime.now(dt.UTC))
    store.put(key, encode(checkpoint, settings.audit_checkpoint_key))
    return checkpoint


def load_checkpoints(store: CheckpointStore | None = None) -> tuple[list[Checkpoint], list[str]]:
    """Every stored checkpoint of this chain (all versions), and the problems found with
    objects that are not checkpoints signed with the key in force."""
    settings = app_settings()
    store = store or checkpoint_store()
    chain = settings.audit_checkpoint_prefix
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    for stored in store.versions(f"{chain}/checkpoints/"):
        found = _checked(store, stored, chain, settings.audit_checkpoint_key)
        if isinstance(found, Checkpoint):
            checkpoints.append(found)
        else:
            problems.append(
                f"checkpoint object {stored.key} (version {stored.version_id}) {found}: "
                "someone without the checkpoint key wrote to the checkpoint bucket"
            )
    return checkpoints, problems


def _checked(
    store: CheckpointStore, stored: StoredObject, chain: str, key: str
) -> Checkpoint | str:
    ident = (stored.key, stored.version_id)
    if ident not in _seen:
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()
        try:
            checkpoint = decode(store.read(stored), key)
        except BadCheckpoint as exc:
            _seen[ident] = str(exc)
        else:
            named = _KEY.search(stored.key)
            if checkpoint.chain != chain:
                _seen[ident] = f"belongs to chain {checkpoint.chain!r}"
            elif named is None or int(named.group(1)) != checkpoint.seq:
                _seen[ident] = f"is stored under a name that is not its event {checkpoint.seq}"
            else:
                _seen[ident] = checkpoint
    return _seen[ident]


def verify(session: Session) -> tuple[ChainReport, bool]:
    """The chain verified against its checkpoints; and whether it is anchored at all (a
    checkpoint key is configured)."""
    settings = app_settings()
    if not settings.audit_checkpoint_key:
        return verify_chain(AuditRepository(session)), False
    checkpoints, problems = load_checkpoints()  # before the walk: the chain only grows
    report = verify_chain(AuditRepository(session), checkpoints=checkpoints)
    if problems:
        report = dataclasses.replace(report, ok=False, problems=[*report.problems, *problems])
    return report, True
