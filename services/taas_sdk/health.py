"""The health probes every module answers without a gateway signature."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz", include_in_schema=True, tags=["health"])
def healthz() -> dict[str, str]:
    """Alive."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz() -> dict[str, str]:
    return {"status": "ready"}
