"""Shared fixtures: the real local stack and a control plane running against it.

A test that needs a server asks for ``stack`` (or a fixture built on it); when a server
is down the test fails with the component's name, its health detail and the command that
fixes it. Nothing skips.

The control plane under test uses its own database (``taas_test``, rebuilt by running the
migrations once per session) and its own Redis databases, so a developer's running
platform never sees test traffic.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from catalog_support import VendorAccount
from support import start_offboard, unique_slug, wait_for, wait_operation
from taas.cli.platform import worker_argv
from taas.kit.settings import StackSettings
from taas.localstack import network
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack

# Two test sessions can share one stack (e.g. two checkouts): give the second its own
# database, Redis databases and run directory through these variables.
TEST_DATABASE = os.environ.get("TAAS_TEST_DATABASE", "taas_test")
BROKER_DB, CACHE_DB = os.environ.get("TAAS_TEST_REDIS_DBS", "3,4").split(",")
RUN_DIR = Path(os.environ.get("TAAS_TEST_RUN_DIR", "/tmp/taas-tests"))  # noqa: S108
SPANS = RUN_DIR / "spans.jsonl"


def _local_stack() -> LocalStack:
    return LocalStack(StackContext(StackSettings()))


def _with_db(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The API served over HTTP (``api_server``): chosen now, because the worker started at the
# beginning of the session tells module pods where it is (through the ``pod_relay``).
API_PORT = _free_port()


def _pods_reach_test_api(env: dict[str, str]) -> None:
    """Module pods exchange storage grants at this session's API, not the stack's."""
    env["TAAS_MODULE_PLATFORM_URL"] = f"http://{network.GATEWAY}:{API_PORT}"
    egress = json.loads(env["TAAS_MODULE_EGRESS"])
    egress[0]["ports"].append({"protocol": "TCP", "port": API_PORT})
    env["TAAS_MODULE_EGRESS"] = json.dumps(egress)


def pytest_configure(config: pytest.Config) -> None:
    """Point every TAAS_* setting of the control plane at the test databases."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    SPANS.unlink(missing_ok=True)
    env = _local_stack().env()
    _pods_reach_test_api(env)
    env["TAAS_DATABASE_URL"] = _with_db(env["TAAS_DATABASE_URL"], TEST_DATABASE)
    env["TAAS_CELERY_BROKER_URL"] = _with_db(env["TAAS_CELERY_BROKER_URL"], BROKER_DB)
    env["TAAS_REDIS_URL"] = _with_db(env["TAAS_REDIS_URL"], CACHE_DB)
    env.update(
        {
            "TAAS_ENVIRONMENT": "test",
            "TAAS_TENANTS_DATABASE": f"{TEST_DATABASE}_tenants",
            "TAAS_STEP_RETRY_BASE_S": "0.5",
            "TAAS_STEP_RETRY_LIMIT": "8",
            "TAAS_STALLED_AFTER_S": "6",
            "TAAS_RECONCILE_INTERVAL_S": "3600",
            "TAAS_OTEL_EXPORTER": "jsonl",
            "TAAS_OTEL_FILE": str(SPANS),
            # Each session's database is new: its audit chain needs its own checkpoints.
            "TAAS_AUDIT_CHECKPOINT_PREFIX": f"{TEST_DATABASE}-{uuid.uuid4().hex[:12]}",
            "TAAS_AUDIT_CHECKPOINT_INTERVAL_S": "2",
        }
    )
    os.environ.update(env)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a real server are marked ``integration``."""
    real = {"stack", "control_plane", "api", "worker"}
    for item in items:
        if real & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> LocalStack:
    """The running local stack; fails loudly, naming what is missing, if it is not healthy."""
    local = _local_stack()
    broken = [row for row in local.status() if not row.health.ok]
    if broken:
        lines = "\n".join(f"  {row.name}: {row.health.detail} (log: {row.log})" for row in broken)
        pytest.fail(
            f"the local stack is not healthy:\n{lines}\nstart it with `taas stack up`",
            pytrace=False,
        )
    return local


# --------------------------------------------------------------------------- control plane


@dataclass
class ControlPlane:
    """The control plane under test: its database, realms and platform users."""

    database_url: str
    keycloak_url: str
    passwords: dict[str, str] = field(default_factory=dict)

    def token(
        self, username: str, realm: str = "taas-platform", password: str | None = None
    ) -> str:
        secret = password or self.passwords[username]
        response = self.password_grant(username, realm, secret)
        if response.status_code == 401 and realm == "taas-platform" and password is None:
            # Another test session on this stack may be resetting the shared test users;
            # a failed login meanwhile can trip Keycloak's brute-force lockout.
            for _ in range(10):
                _restore_platform_user(self, username)
                response = self.password_grant(username, realm, secret)
                if response.status_code != 401:
                    break
                time.sleep(1)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def password_grant(self, username: str, realm: str, password: str) -> httpx.Response:
        return httpx.post(
            f"{self.keycloak_url}/realms/{realm}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "taas-console",
                "username": username,
                "password": password,
                "scope": "openid organization",
            },
            timeout=15,
        )

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


@pytest.fixture(scope="session")
def control_plane(stack: LocalStack) -> Iterator[ControlPlane]:
    """A freshly migrated test database, the platform realms and three platform users."""
    url = os.environ["TAAS_DATABASE_URL"]
    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        _claim_test_database(conn)
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_DATABASE))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DATABASE)))
        yield _prepare_control_plane(url)


def _claim_test_database(conn: psycopg.Connection[Any]) -> None:
    """Hold a session lock on the test database's name, so that a second test session on
    the same stack fails here instead of dropping the database under the first one."""
    key = int.from_bytes(hashlib.sha256(TEST_DATABASE.encode()).digest()[:8], "big", signed=True)
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    if not (row and row[0]):
        pytest.fail(
            f"another test session is using the test database {TEST_DATABASE!r} on this "
            "stack; give this one its own: TAAS_TEST_DATABASE=<name> "
            "TAAS_TEST_REDIS_DBS=<two free Redis DBs> TAAS_TEST_RUN_DIR=<dir>",
            pytrace=False,
        )


def _prepare_control_plane(url: str) -> ControlPlane:
    from taas.cli.platform import ensure_control_plane_accounts
    from taas.integrations.checkpoints import checkpoint_store
    from taas.integrations.systems import systems
    from taas.kit.migrate import upgrade

    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    # As `taas platform init` does: the root credentials make the control plane's own
    # least-privilege accounts, which everything below (and the platform) then uses.
    ensure_control_plane_accounts(os.environ)
    checkpoint_store().ensure_bucket()
    identity = systems().identity
    plane = ControlPlane(database_url=url, keycloak_url=os.environ["TAAS_KEYCLOAK_URL"])
    for username, roles in {
        "test-operator": ["platform-operator"],
        # The second pair of eyes: approves what test-operator requests (maker-checker).
        "test-operator-2": ["platform-operator"],
        "test-auditor": ["platform-auditor"],
        "test-nobody": [],
    }.items():
        # Derived, not random: concurrent sessions on one stack must agree on it.
        plane.passwords[username] = _platform_password(username)
        identity.ensure_platform_user(username, plane.passwords[username], roles)
        _restore_platform_user(plane, username)
    return plane


def _restore_platform_user(plane: ControlPlane, username: str) -> None:
    """Lift a brute-force lockout of a shared test user and, only if its password does not
    work, reset it: resetting a password other sessions on this stack are logging in with
    fails their logins meanwhile (and the failures trip the lockout for everyone)."""
    from taas.integrations.systems import systems

    admin = systems().identity.admin("taas-platform")
    user_id = admin.get_user_id(username)
    admin.clear_bruteforce_attempts_for_user(user_id)
    response = plane.password_grant(username, "taas-platform", plane.passwords[username])
    if response.status_code != 200:
        admin.set_user_password(user_id, plane.passwords[username], temporary=False)
        admin.clear_bruteforce_attempts_for_user(user_id)


def _platform_password(username: str) -> str:
    seed = os.environ["TAAS_KEYCLOAK_ADMIN_PASSWORD"] + ":" + username
    return hashlib.sha256(seed.encode()).hexdigest()[:24] + "-Aa1"


# The worker is killed when the test session dies, however it dies: one left behind would
# run the next session's operations against its database (util-linux's setpriv).
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"]


class Worker:
    """A real Celery worker process (with the beat scheduler) for the test session."""

    def __init__(self, env: dict[str, str] | None = None, name: str = "worker") -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.env = env or {}  # settings of this worker that differ from the session's
        self.log = RUN_DIR / f"{name}.log"

    def start(self) -> None:
        argv = DIE_WITH_PARENT + worker_argv(RUN_DIR / f"beat-{uuid.uuid4().hex[:6]}")
        offset = self.log.stat().st_size if self.log.exists() else 0  # only this start's lines
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes()[offset:]:
                return
            assert self.process.poll() is None, f"the worker exited; see {self.log}"
            time.sleep(0.2)
        pytest.fail(f"the Celery worker did not start; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None


@pytest.fixture(scope="session")
def worker(control_plane: ControlPlane) -> Iterator[Worker]:
    running = Worker()
    running.log.write_bytes(b"")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(control_plane: ControlPlane, worker: Worker) -> Iterator[Any]:
    """The API app in process (real database, real Keycloak tokens, real worker behind it)."""
    from fastapi.testclient import TestClient

    from taas.api.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def api_server(control_plane: ControlPlane, worker: Worker) -> Iterator[str]:
    """The API served over real HTTP by uvicorn (for the CLI and module pods), on a free
    loopback port."""
    import threading

    import uvicorn

    from taas.api.app import create_app

    port = API_PORT
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def pod_relay(api_server: str) -> Iterator[str]:
    """Module pods' way to this session's API (the stack's node relay forwards the stack's
    own API port): a relay process of the session; its address as pods use it."""
    import sys

    relay = subprocess.Popen(
        [sys.executable, "-m", "taas.localstack.relay", "--listen", network.GATEWAY,
         str(API_PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def answers() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex((network.GATEWAY, API_PORT)) == 0

    wait_for(answers, what="the session's pod relay")
    yield f"http://{network.GATEWAY}:{API_PORT}"
    relay.terminate()
    relay.wait(timeout=10)


# Tokens live 5 minutes and the suite runs longer: every test gets fresh ones.
@pytest.fixture
def operator(control_plane: ControlPlane) -> dict[str, str]:
    return control_plane.headers("test-operator")


@pytest.fixture
def operator2(control_plane: ControlPlane) -> dict[str, str]:
    """A second platform operator: approves what ``operator`` requests."""
    return control_plane.headers("test-operator-2")


@pytest.fixture
def auditor(control_plane: ControlPlane) -> dict[str, str]:
    return control_plane.headers("test-auditor")


@pytest.fixture
def make_tenant(
    api: Any, operator: dict[str, str], operator2: dict[str, str]
) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create tenants that are offboarded (nothing kept) when the test ends; the second
    operator approves the offboarding, as maker-checker requires."""
    created: list[str] = []

    def make(tier: str = "pool", wait: bool = True, **fields: Any) -> dict[str, Any]:
        body = {
            "slug": unique_slug(),
            "display_name": "Test Bank",
            "tier": tier,
            "region": "cn-east-1",
            **fields,
        }
        response = api.post("/v1/tenants", json=body, headers=operator)
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        created.append(accepted["tenant"]["id"])
        if wait:
            op = wait_operation(
                api, operator, accepted["tenant"]["id"], accepted["operation"]["id"]
            )
            assert op["status"] == "succeeded", op
            accepted["tenant"] = api.get(
                f"/v1/tenants/{accepted['tenant']['id']}", headers=operator
            ).json()
        return accepted

    yield make
    for tenant_id in created:
        tenant = api.get(f"/v1/tenants/{tenant_id}", headers=operator).json()
        if tenant.get("status") in ("offboarded", None):
            continue
        wait_for(
            lambda tid=tenant_id: (
                api.get(f"/v1/tenants/{tid}/operations", headers=operator).json()[0]["status"]
                in ("succeeded", "failed")
            ),
            what="the tenant's last operation",
        )
        started = start_offboard(api, operator, operator2, tenant_id, keep_data_days=0)
        if isinstance(started, dict):
            wait_operation(api, operator, tenant_id, started["id"])


@pytest.fixture
def make_vendor(api: Any, operator: dict[str, str]) -> Callable[[], VendorAccount]:
    def make() -> VendorAccount:
        slug = unique_slug("v")
        response = api.post(
            "/v1/vendors",
            json={"slug": slug, "display_name": "Test Vendor", "contact_email": "dev@example.com"},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        return VendorAccount(slug, response.json()["credentials"])

    return make


# =========================================================================== gateway
# Gateway (data plane) processes for tests/platform/taas/gateway: each one is
# `taas gateway run` on a free loopback port, with the same TAAS_* environment as the
# control plane under test (test database, test Redis, spans in SPANS).


@pytest.fixture(scope="session")
def gateway_factory(control_plane: ControlPlane) -> Iterator[Callable[..., Any]]:
    """Start gateways (``gateway_factory(TAAS_X="...")`` overrides settings); all are
    stopped at the end of the session."""
    from gateway_support import GatewayProcess

    started: list[GatewayProcess] = []

    def start(**env: str) -> GatewayProcess:
        process = GatewayProcess(RUN_DIR, {**os.environ, **env})
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def gateway(gateway_factory: Callable[..., Any]) -> Any:
    """The session's gateway, ready (its route table loaded)."""
    return gateway_factory()


# ======================================================================= end gateway
