"""The one query of the operators domain: serialise changes to who may run the platform."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# Held until the request's transaction ends, so that two operators removing each other
# at the same moment cannot leave the platform with none.
_MEMBERSHIP_LOCK = 0x7461_6173_6F70  # "taasop"


class OperatorsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_membership(self) -> None:
        self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MEMBERSHIP_LOCK})
