"""Helpers of the gateway tests: a small upstream module, route rows, gateway processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import psycopg
import pytest
import uvicorn
from psycopg.types.json import Jsonb

from support import wait_for
from taas.kit import signing

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --------------------------------------------------------------------------- calls

MakeTenant = Callable[..., dict[str, Any]]
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(
    request: Callable[[], httpx.Response], status: int, what: str, code: str | None = None
) -> httpx.Response:
    """Repeat ``request`` until it answers ``status`` (and problem ``code``): routes change
    asynchronously, within a second, and the test must not depend on exactly when."""

    def attempt() -> httpx.Response | None:
        response = request()
        if response.status_code != status:
            return None
        if code is not None and problem_code(response) != code:
            return None
        return response

    result: httpx.Response = wait_for(attempt, timeout=15, what=what)
    return result


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == PROBLEM, response.text
    body = response.json()
    assert {"type", "title", "status", "detail", "hint", "request_id"} <= body.keys(), body
    assert body["status"] == response.status_code
    assert body["hint"]
    return str(body["type"]).removeprefix("urn:taas:problem:")


# --------------------------------------------------------------------------- upstream


@dataclass
class Upstream:
    """A module upstream in a thread: it echoes what the gateway forwarded.

    Paths: ``/sleep?s=<seconds>`` answers late; ``/download?n=<bytes>`` streams a body of
    that size; anything else echoes method, path, query, headers, the body's length and
    whether the signature is valid for the module's secret in ``secrets``.
    """

    secrets: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Upstream:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20, what="the test upstream")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        query = parse_qs(scope["query_string"].decode())
        received = 0
        while True:
            message = await receive()
            received += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        if path.endswith("/sleep"):
            await asyncio.sleep(float(query["s"][0]))
        if path.endswith("/download"):
            await self._download(send, int(query["n"][0]))
            return
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        raw_path = scope["raw_path"].decode()
        module = headers.get(signing.MODULE.lower(), "")
        mount = f"/m/{module}"  # the tests mount each module's upstream under /m/<module>
        secret = self.secrets.get(module)
        body = json.dumps(
            {
                "method": scope["method"],
                "path": raw_path,
                "query": scope["query_string"].decode(),
                "headers": headers,
                "received": received,
                "signed": bool(secret)
                and signing.verify_signature(
                    headers,
                    secret or "",
                    60,
                    method=scope["method"],
                    path=raw_path.removeprefix(mount),
                ),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"server", b"vendor-server/1.0"),
                    (b"x-module", b"echo"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _download(send: Send, size: int) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        chunk = b"x" * 65536
        sent = 0
        while sent < size:
            part = chunk[: min(len(chunk), size - sent)]
            sent += len(part)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


# --------------------------------------------------------------------------- route rows


@dataclass
class RouteRows:
    """One module route made by inserting rows (vendor, plugin version, subscription)."""

    module: str
    version: str
    secret: str
    vendor_id: uuid.UUID
    version_id: uuid.UUID
    subscription_id: uuid.UUID | None
    tenant: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/t/{self.tenant['slug']}/{self.module}"


def database_url() -> str:
    return os.environ["TAAS_DATABASE_URL"]


def sql(statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on the test control-plane database (autocommit)."""
    with psycopg.connect(database_url(), autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


class RouteMaker:
    """Makes routes for tenants of the test and removes them at the end."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.made: list[RouteRows] = []

    def __call__(
        self,
        tenant: dict[str, Any],
        *,
        scopes: Iterable[str] = (),
        timeout_s: float = 10.0,
        rate_limit_rps: int = 1000,
        monthly_quota: int | None = None,
        upstream_url: str | None = None,
        subscribe: bool = True,
        module: str | None = None,
        storage: Iterable[str] = (),
        secret: str | None = None,
        openapi: dict[str, Any] | None = None,
    ) -> RouteRows:
        module = module or f"m{uuid.uuid4().hex[:10]}"
        secret = secret or uuid.uuid4().hex
        vendor_id, version_id = uuid.uuid4(), uuid.uuid4()
        subscription_id = uuid.uuid4() if subscribe else None
        url = upstream_url or f"{self.upstream.url}/m/{module}"
        manifest = {
            "scopes": list(scopes),
            "timeout_s": timeout_s,
            "data": {"storage": list(storage)},
        }
        if openapi is not None:
            manifest |= {"openapi": openapi, "summary": f"Module {module}"}
        with psycopg.connect(database_url(), autocommit=True) as conn, conn.transaction():
            conn.execute(
                "INSERT INTO vendors (id, slug, display_name, contact_email, client_id,"
                " signing_secret, status) VALUES (%s, %s, 'Test vendor', 'v@example.com',"
                " %s, %s, 'active')",
                (vendor_id, f"v{vendor_id.hex[:10]}", f"vendor-{vendor_id.hex[:8]}", secret),
            )
            conn.execute(
                "INSERT INTO plugin_versions (id, vendor_id, name, version, capability, status,"
                " manifest, validation, submitted_by, submitted_by_subject)"
                " VALUES (%s, %s, %s, '1.0.0', 'other', 'published', %s, '{}', 'test', 'test')",
                (version_id, vendor_id, module, Jsonb(manifest)),
            )
            if subscription_id is not None:
                conn.execute(
                    "INSERT INTO subscriptions (id, tenant_id, module, plugin_version_id,"
                    " upstream_url, status, rate_limit_rps, monthly_quota, requested_by)"
                    " VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, 'test')",
                    (
                        subscription_id,
                        tenant["id"],
                        module,
                        version_id,
                        url,
                        rate_limit_rps,
                        monthly_quota,
                    ),
                )
        self.upstream.secrets[module] = secret
        rows = RouteRows(
            module, "1.0.0", secret, vendor_id, version_id, subscription_id, tenant=tenant
        )
        self.made.append(rows)
        return rows

    def remove_all(self) -> None:
        with psycopg.connect(database_url(), autocommit=True) as conn, conn.transaction():
            for rows in self.made:
                conn.execute(
                    "DELETE FROM subscriptions WHERE plugin_version_id = %s", (rows.version_id,)
                )
                conn.execute("DELETE FROM plugin_versions WHERE id = %s", (rows.version_id,))
                conn.execute("DELETE FROM vendors WHERE id = %s", (rows.vendor_id,))
        self.made.clear()


# --------------------------------------------------------------------------- gateways


class GatewayProcess:
    """``taas gateway run`` in its own process group, on a free loopback port."""

    def __init__(self, run_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = run_dir / f"gateway-{self.port}.log"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        argv = [sys.executable, "-m", "taas.cli.gateway", "run", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the gateway exited; see {self.log}"
            try:
                if httpx.get(f"{self.url}/_gateway/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the gateway did not become ready; see {self.log}")

    def generation(self) -> int:
        return int(httpx.get(f"{self.url}/_gateway/routes/version", timeout=5).json()["generation"])

    def wait_reload(self, after: int, timeout: float = 10) -> int:
        """Wait until the gateway has loaded a route table newer than generation ``after``."""
        result: int = wait_for(
            lambda: (generation := self.generation()) > after and generation,
            timeout=timeout,
            what=f"gateway {self.port} to reload its routes",
        )
        return result

    def sync(self, timeout: float = 15) -> None:
        """Wait until the gateway has applied every route change committed before now.

        A ``sync <token>`` notification goes down the same channel as the changes, after
        them; the gateway reports the last token it has passed.
        """
        token = uuid.uuid4().hex
        sql("SELECT pg_notify('taas_routes', %s)", f"sync {token}")
        wait_for(
            lambda: (
                httpx.get(f"{self.url}/_gateway/routes/version", timeout=5).json().get("synced")
                == token
            ),
            timeout=timeout,
            what=f"gateway {self.port} to apply the route changes",
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is not None:
            self.process = None
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
