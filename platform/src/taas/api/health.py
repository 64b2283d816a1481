"""Liveness and readiness of the control-plane API."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from taas.kit.db import new_session
from taas.kit.errors import TemporaryError
from taas.kit.problems import problems

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=problems(503), tags=["health"])
def readyz() -> dict[str, str]:
    """Ready when the control-plane database answers."""
    try:
        with new_session() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        raise TemporaryError("the control-plane database does not answer") from exc
    return {"status": "ready"}
