"""``taas platform``: set up and run the control plane (API and workers) locally."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from taas.cli.errors import friendly_errors
from taas.cli.session import app_env, local_stack, login, selected_profile, users_file
from taas.integrations.checkpoints import checkpoint_store
from taas.integrations.identity import IdentityTenants
from taas.integrations.storage import ensure_control_plane_identity
from taas.kit.errors import TaasError
from taas.kit.migrate import upgrade
from taas.kit.settings import StackSettings
from taas.localstack.process import PidFile, ensure_port_free, spawn, terminate

app = typer.Typer(help="Set up and run the control plane locally.", no_args_is_help=True)
console = Console(highlight=False)
# Two operators: what one requests (offboard with short retention, revoke), the other approves.
DEV_USERS = {
    "operator": ["platform-operator"],
    "operator-2": ["platform-operator"],
    "auditor": ["platform-auditor"],
}


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@app.command()
@friendly_errors
def init() -> None:
    """Migrate the database, create the platform and bank realms, the dev users and the
    audit checkpoint bucket (object lock, compliance mode)."""
    env = app_env(local_stack())
    os.environ.update(env)  # the adapters below read the settings from the environment
    with console.status("migrating the control-plane database"):
        try:
            upgrade(_sqlalchemy(env["TAAS_DATABASE_URL"]))
        except OperationalError as exc:
            raise TaasError(
                f"cannot reach the control-plane database: {exc.orig}",
                hint="start the local stack (`taas stack up` or `make stack`), then run this again",
            ) from exc
    console.print("[green]✓[/] database at the latest migration")
    with console.status("the control plane's accounts") as status:

        def progress(done: int, of: int) -> None:
            status.update(f"the control plane's accounts: bank realm {done} of {of}")

        changes = ensure_control_plane_accounts(env, progress)
    for change in changes:
        console.print(f"[green]✓[/] {change}")
    identity = IdentityTenants(
        env["TAAS_KEYCLOAK_URL"],
        "",
        "",
        banks_realm=env.get("TAAS_BANKS_REALM", "taas-banks"),
        platform_realm=env.get("TAAS_PLATFORM_REALM", "taas-platform"),
        client_id=env["TAAS_KEYCLOAK_CLIENT_ID"],
        client_secret=env["TAAS_KEYCLOAK_CLIENT_SECRET"],
    )
    path = users_file()
    users: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for username, roles in DEV_USERS.items():
        users.setdefault(username, secrets.token_urlsafe(16))
        identity.ensure_platform_user(username, users[username], roles)
    path.write_text(json.dumps(users, indent=2))
    path.chmod(0o600)
    console.print(f"[green]✓[/] dev users {', '.join(DEV_USERS)} (passwords in {path})")
    store = checkpoint_store()
    for change in store.ensure_bucket() or [f"bucket {store.bucket} under object lock"]:
        console.print(f"[green]✓[/] {change}")


def ensure_control_plane_accounts(
    env: Mapping[str, str], progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """With the root credentials in ``env``, create or repair the control plane's own
    least-privilege MinIO user and Keycloak accounts, and the platform realms (which the
    first of those accounts then manages); the API and workers run with those accounts
    only. ``progress`` hears (done, of) after each bank realm's accounts."""
    identity = IdentityTenants(
        env["TAAS_KEYCLOAK_URL"],
        env["TAAS_KEYCLOAK_ADMIN_USER"],
        env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
        banks_realm=env.get("TAAS_BANKS_REALM", "taas-banks"),
        platform_realm=env.get("TAAS_PLATFORM_REALM", "taas-platform"),
        vendors_realm=env.get("TAAS_VENDORS_REALM", "taas-vendors"),
    )
    changes = identity.ensure_platform()
    changes += identity.ensure_control_plane_clients(
        env["TAAS_KEYCLOAK_CLIENT_ID"], env["TAAS_KEYCLOAK_CLIENT_SECRET"], progress
    )
    changes += ensure_control_plane_identity(
        env["TAAS_MINIO_ENDPOINT"],
        env["TAAS_MINIO_ROOT_USER"],
        env["TAAS_MINIO_ROOT_PASSWORD"],
        secure=env.get("TAAS_MINIO_SECURE", "false").lower() in ("1", "true", "yes"),
        access_key=env["TAAS_MINIO_ACCESS_KEY"],
        secret_key=env["TAAS_MINIO_SECRET_KEY"],
        checkpoint_bucket=env.get("TAAS_AUDIT_CHECKPOINT_BUCKET", "taas-audit-checkpoints"),
    )
    return changes


WORKER_CONCURRENCY = 2
# A pool child whose resident memory passes this (KiB) is replaced once its current task
# is done (the task is acknowledged first, so acks_late semantics are untouched).
WORKER_MAX_MEMORY_PER_CHILD_KIB = 250_000


def worker_argv(
    schedule: Path | None, concurrency: int = WORKER_CONCURRENCY, loglevel: str = "INFO"
) -> list[str]:
    """A Celery worker; with a ``schedule`` file it also runs the beat scheduler
    (reconciler, stalled operations, retention purge).

    Prefork children, few of them: each is a whole interpreter with the control plane
    imported (about 120 MB idle, 190 MB busy), and the steps wait on outside systems that
    share the same cores, so more children add memory, not throughput (docs/benchmarks.md).
    A child (not a thread) per task keeps ``task_reject_on_worker_lost``: a child that dies
    mid-step has its task requeued at once while the worker goes on.
    """
    argv = [sys.executable, "-m", "celery", "-A", "taas.worker", "worker"]
    argv += ["--loglevel", loglevel, "--concurrency", str(concurrency)]
    argv += ["--max-memory-per-child", str(WORKER_MAX_MEMORY_PER_CHILD_KIB)]
    if schedule is not None:
        argv += ["-B", "--schedule", str(schedule)]
    return argv


def _processes() -> dict[str, list[str]]:
    port = StackSettings().api_port
    gateway_port = StackSettings().gateway_port
    python = sys.executable
    return {
        "api": [
            python,
            "-m",
            "uvicorn",
            "taas.api.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        "worker": worker_argv(StackSettings().state_dir / "celerybeat-schedule"),
        "gateway": [python, "-m", "taas.cli.gateway", "run", "--port", str(gateway_port)],
    }


DEMO_PLUGIN = "demo-plugin"  # started by `taas demo` as the vendor's running service
# ... and the reference modules it registers (taas.cli.demo_modules)
DEMO_PROCESSES = (DEMO_PLUGIN, "module-risk", "module-marketing", "module-ocr")


def pid_file(name: str) -> PidFile:
    return PidFile(StackSettings().state_dir / "run" / f"platform-{name}.pid")


def log_file(name: str) -> Path:
    return StackSettings().state_dir / "logs" / f"platform-{name}.log"


@app.command()
@friendly_errors
def up() -> None:
    """Start the API, a worker (with the periodic reconciler) and the gateway in the background."""
    stack = local_stack()
    env = app_env(stack)
    # Code and schema go together: a newer checkout's processes need its migrations.
    upgrade(_sqlalchemy(env["TAAS_DATABASE_URL"]))
    for name, argv in _processes().items():
        if pid_file(name).running_pid() is not None:
            console.print(f"[dim]·[/] {name} already running")
            continue
        if name == "api":
            ensure_port_free(
                "127.0.0.1", StackSettings().api_port, "control-plane API", "TAAS_API_PORT"
            )
        if name == "gateway":
            ensure_port_free(
                "127.0.0.1", StackSettings().gateway_port, "gateway", "TAAS_GATEWAY_PORT"
            )
        spawn(argv, pid_file=pid_file(name), log=log_file(name), env=env)
        console.print(f"[bold]→[/] started {name} (log: {log_file(name)})")
    _wait_ready("api", "API", f"http://127.0.0.1:{StackSettings().api_port}", "/readyz")
    _wait_ready(
        "gateway", "gateway", f"http://127.0.0.1:{StackSettings().gateway_port}", "/_gateway/readyz"
    )


def _wait_ready(name: str, what: str, base: str, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                console.print(f"[green]✓[/] {what} ready at {base}")
                return
        except httpx.HTTPError:
            pass
        if pid_file(name).running_pid() is None:
            break
        time.sleep(0.3)
    raise TaasError(f"the {what} did not become ready", hint=f"read {log_file(name)}")


@app.command()
@friendly_errors
def down() -> None:
    """Stop the API, worker and gateway started by `taas platform up` (and the demo's plugin)."""
    for name in [*_processes(), *DEMO_PROCESSES]:
        stopped = terminate(pid_file(name))
        if not stopped and name in DEMO_PROCESSES:
            continue
        console.print(
            f"[green]✓[/] stopped {name}" if stopped else f"[dim]·[/] {name} was not running"
        )


@app.command("login")
@friendly_errors
def login_command(
    username: Annotated[str, typer.Option(help="User name.")] = "operator",
    realm: Annotated[str | None, typer.Option(help="Realm (default: the platform realm).")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (default: the dev user's, or a prompt).")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Keep the login as this profile (default: the user name)."),
    ] = None,
) -> None:
    """Log in to Keycloak and keep the login as a profile that later commands use.

    `taas login` and `taas platform login` are the same command. The profile is named
    after the user unless --profile names it, and becomes the current one."""
    users = json.loads(users_file().read_text()) if users_file().exists() else {}
    secret = password or users.get(username) or typer.prompt("password", hide_input=True)
    token = login(username, secret, realm, profile=profile or selected_profile())
    console.print(
        f"[green]✓[/] logged in as {username} ({token['realm']}); "
        f"profile [bold]{token['profile']}[/] is current"
    )
