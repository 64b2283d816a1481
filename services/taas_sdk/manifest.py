"""A module's manifest, generated from the app's own OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PLUGIN_API = ">=1.0,<2"


def manifest(
    app: FastAPI, *, url: str | None = None, image: str | None = None, port: int = 8080
) -> dict[str, Any]:
    """What the vendor submits to ``POST /v1/vendors/{vendor}/plugins``."""
    info = app.state.module
    upstream: dict[str, Any] = {"port": port}
    if url:
        upstream["url"] = url
    if image:
        upstream["image"] = image
    document = app.openapi()
    return {
        "name": info.name,
        "version": info.version,
        "plugin_api": PLUGIN_API,
        "capability": info.capability,
        "summary": info.summary,
        "upstream": upstream,
        "openapi": document,
        "health_path": "/healthz",
        "scopes": info.scopes,
        "operation_scopes": info.operation_scopes,
        "data": info.data,
        "resources": info.resources or {"cpu": "250m", "memory": "256Mi", "replicas": 1},
        "pricing": info.pricing or {"model": "per_call", "currency": "CNY", "per_call": 0.0},
        "timeout_s": info.timeout_s,
    }
