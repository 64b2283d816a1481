"""``create_app``: a FastAPI app that only answers calls that came through the TaaS gateway.

Every route except the health probes requires the gateway's signed identity headers
(``taas_sdk.gateway``); anything else is refused with 401 before the route runs. The
verified caller is on ``request.state.caller`` (``CurrentCaller`` in a route). Errors are
``application/problem+json`` (``taas_sdk.problems``). The app's own OpenAPI document
becomes its manifest (``taas_sdk.manifest``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from taas_sdk import health, telemetry
from taas_sdk.gateway import gateway_only
from taas_sdk.info import ModuleInfo
from taas_sdk.problems import PROBLEM_SCHEMA, answer_with_problems, problem
from taas_sdk.settings import ModuleSettings
from taas_sdk.storage import CredentialBroker

__all__ = ["PROBLEM_SCHEMA", "ModuleInfo", "create_app", "problem"]


def create_app(
    *,
    name: str,
    version: str,
    capability: str,
    summary: str,
    scopes: list[str] | None = None,
    data: dict[str, Any] | None = None,
    resources: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
    timeout_s: float = 30.0,
    settings: ModuleSettings | None = None,
    operation_scopes: list[str] | None = None,
) -> FastAPI:
    """A module app: gateway-only routes, health probes, problem+json, tracing.

    ``scopes`` are required by the gateway for every call; ``operation_scopes`` are scopes
    that only some operations need (an admin scope, say): the bank's systems may ask for
    them, and the routes that need them say so with ``dependencies=[require_scopes(...)]``.
    """
    settings = settings or ModuleSettings.from_env()
    info = ModuleInfo(
        name, version, capability, summary, scopes or [], data or {}, resources or {},
        pricing or {}, timeout_s, operation_scopes or [],
    )  # fmt: skip
    app = FastAPI(title=summary, version=version)
    app.state.module = info
    app.state.settings = settings
    app.state.credential_broker = CredentialBroker(settings)
    app.state.storage_factory = None
    tracing = telemetry.setup(f"module-{name}", settings)
    app.middleware("http")(gateway_only(info, tracing=tracing))
    answer_with_problems(app)
    app.include_router(health.router)
    return app
