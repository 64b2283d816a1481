"""A small plugin written for the tests: what a vendor would run behind the gateway.

It scores loan amounts and echoes what the gateway forwarded; like every plugin it refuses
(401) calls whose identity headers the gateway did not sign. It can be told to misbehave
(break its contract, answer slowly, ignore signatures) to test validation and timeouts, and
to exchange the storage grant of each signed call for credentials, as a plugin using
storage does (what the contract check's sandbox identity is made for).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from taas.kit import signing


@dataclass
class PluginBehaviour:
    signing_secret: str = ""
    broken_contract: bool = False
    delay_s: float = 0.0
    ignore_signatures: bool = False  # trusts X-TaaS-* headers as sent: validation must fail it
    credentials_url: str = ""  # the API's storage credentials endpoint: mint on each score
    seen: list[dict[str, str]] = field(default_factory=list)
    minted: dict[str, int] = field(default_factory=dict)  # module -> credentials obtained


async def _mint(behaviour: PluginBehaviour, request: Request) -> None:
    """Exchange the call's storage grant for credentials (counted per module when they
    come); a refusal is not the plugin's answer's business."""
    grant = request.headers.get(signing.STORAGE_GRANT)
    if not (behaviour.credentials_url and grant):
        return
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            behaviour.credentials_url, headers={"Authorization": f"Bearer {grant}"}
        )
    if answer.status_code == 200:
        module = request.headers.get(signing.MODULE, "")
        behaviour.minted[module] = behaviour.minted.get(module, 0) + 1


def make_plugin(behaviour: PluginBehaviour) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def signed(request: Request, path: str) -> bool:
        return bool(behaviour.signing_secret) and signing.verify_signature(
            request.headers, behaviour.signing_secret, 60, method=request.method, path=path
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def refused() -> JSONResponse:
        return JSONResponse({"error": "not called through the TaaS gateway"}, 401)

    @app.post("/score")
    async def score(request: Request) -> JSONResponse:
        behaviour.seen.append(dict(request.headers))
        if not (behaviour.ignore_signatures or signed(request, "/score")):
            return refused()
        await _mint(behaviour, request)
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        body = await request.json()
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 0:
            return JSONResponse({"error": "amount must be a non-negative integer"}, 422)
        if behaviour.broken_contract:
            return JSONResponse({"score": "high"})
        return JSONResponse(
            {
                "score": max(300, 850 - amount // 1000),
                "tenant": request.headers.get(signing.TENANT, ""),
                "signed": signed(request, "/score"),
            }
        )

    @app.get("/whoami", response_model=None)
    def whoami(request: Request) -> dict[str, Any] | JSONResponse:
        if not (behaviour.ignore_signatures or signed(request, "/whoami")):
            return refused()
        return {"headers": dict(request.headers), "signed": signed(request, "/whoami")}

    return app


def plugin_openapi() -> dict[str, Any]:
    """The OpenAPI document the vendor ships with the plugin, with contract examples."""
    score_out = {
        "type": "object",
        "required": ["score"],
        "properties": {"score": {"type": "integer"}, "tenant": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Test scoring plugin", "version": "1.0.0"},
        "paths": {
            "/score": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ScoreIn"},
                                "examples": {
                                    "small-loan": {"value": {"amount": 20000}},
                                    "negative": {"value": {"amount": -5}},
                                },
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "A score",
                            "content": {
                                "application/json": {
                                    "schema": score_out,
                                    "examples": {"small-loan": {"value": {"score": 830}}},
                                }
                            },
                        },
                        "422": {
                            "description": "Bad amount",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object"},
                                    "examples": {"negative": {"value": {"error": "..."}}},
                                }
                            },
                        },
                    },
                }
            },
            "/healthz": {
                "get": {"responses": {"200": {"description": "Alive"}}},
            },
        },
        "components": {
            "schemas": {
                "ScoreIn": {
                    "type": "object",
                    "required": ["amount"],
                    "properties": {"amount": {"type": "integer"}},
                }
            }
        },
    }


def manifest(name: str, version: str, url: str, scopes: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "plugin_api": ">=1.0,<2",
        "capability": "risk",
        "summary": "Scores loan amounts (test plugin)",
        "upstream": {"url": url},  # a development plugin: reached where it runs
        "openapi": plugin_openapi(),
        "health_path": "/healthz",
        "scopes": scopes or [],
        "data": {"storage": ["read"], "personal_data": ["financial"]},
        "resources": {"cpu": "100m", "memory": "128Mi"},
        "pricing": {"model": "per_call", "currency": "CNY", "per_call": 0.01},
        "timeout_s": 5,
    }


class PluginServer:
    """The plugin on a free loopback port, in a thread."""

    def __init__(self, behaviour: PluginBehaviour | None = None) -> None:
        self.behaviour = behaviour or PluginBehaviour()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            make_plugin(self.behaviour), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PluginServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the test plugin did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
