"""Endpoint plumbing: a service built for the request, and the request's commit."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy.orm import Session

from taas.kit.auth import Principal
from taas.kit.web import committed, service_of


class _Recorded:
    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        self.built_with = (session, principal, request_id)


class _Session:
    commits = 0

    def commit(self) -> None:
        self.commits += 1


def test_a_service_is_built_from_the_requests_session_caller_and_id() -> None:
    session = cast(Session, object())
    caller = Principal(
        subject=str(uuid.uuid4()),
        username="alice",
        realm="platform",
        roles=frozenset(),
        tenant=None,
    )
    built = service_of(_Recorded)(session, caller, "request-1")
    assert built.built_with == (session, caller, "request-1")


def test_committed_commits_then_answers() -> None:
    session = _Session()
    assert committed(cast(Session, session), {"ok": True}) == {"ok": True}
    assert session.commits == 1
