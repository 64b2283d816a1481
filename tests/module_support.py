"""Serving SDK modules for real-stack tests: uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI

START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve_app(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` until the block ends (on ``port``, default a free one); yields its URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the module {app.title!r} did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def contract_check(app: FastAPI) -> set[str]:
    """The platform's validation of ``app`` as if it were submitted (manifest schema,
    OpenAPI document, health probe, every example called with a sandbox tenant's
    storage), run in process; asserts every check passed and returns their names."""
    from fastapi.testclient import TestClient
    from taas_sdk import manifest
    from taas_sdk.testing import ModuleClient

    from taas.plugins.validation import validate

    signer = ModuleClient(app, tenant="taas-contract-check")
    http: Any = TestClient(app)  # an httpx-style client, as validate() expects
    report = validate(manifest(app, url="http://testserver"), http, signer.gateway_headers)
    failed = [check for check in report["checks"] if not check["ok"]]
    assert not failed, failed
    return {check["name"] for check in report["checks"]}
