"""A caller's service: its idempotency is the caller's own, whatever the service."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from sqlalchemy.orm import Session

from conftest import ControlPlane
from taas.kit.auth import Principal
from taas.kit.db import new_session
from taas.kit.errors import Unprocessable
from taas.kit.service import CallerService


def _caller(name: str) -> Principal:
    return Principal(
        subject=str(uuid.uuid4()), username=name, realm="platform", roles=frozenset(), tenant=None
    )


def test_without_a_key_nothing_is_claimed() -> None:
    service = CallerService(cast(Session, object()), _caller("alice"), "r1")  # never read
    first = service.once(None, "things.create", {"name": "a"})
    assert first.earlier is None
    assert first.key is None


def test_a_key_is_the_callers_own(control_plane: ControlPlane) -> None:
    key = uuid.uuid4().hex
    alice, bob = _caller("alice"), _caller("bob")
    with new_session() as session:
        try:
            first = CallerService(session, alice, "r1").once(key, "things.create", {"n": 1})
            assert first.earlier is None
            first.keep({"answer": 1})
            again = CallerService(session, alice, "r2").once(key, "things.create", {"n": 1})
            assert again.earlier == {"answer": 1}
            other = CallerService(session, bob, "r3").once(key, "things.create", {"n": 2})
            assert other.earlier is None  # another caller's key of the same name
            with pytest.raises(Unprocessable):
                CallerService(session, alice, "r4").once(key, "things.create", {"n": 2})
        finally:
            session.rollback()
