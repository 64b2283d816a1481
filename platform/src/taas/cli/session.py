"""How the CLI reaches the control plane: its URL, the stored login and the HTTP client."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from taas.kit.errors import TaasError, Unauthorized
from taas.kit.settings import StackSettings
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack

CONSOLE_CLIENT = "taas-console"


def local_stack() -> LocalStack:
    return LocalStack(StackContext(StackSettings()))


def app_env(stack: LocalStack) -> dict[str, str]:
    """Environment for the API and workers: the stack's endpoints plus what is already set."""
    env = stack.env()
    env.update({key: value for key, value in os.environ.items() if key.startswith("TAAS_")})
    return env


def api_url() -> str:
    return os.environ.get("TAAS_API_URL") or f"http://127.0.0.1:{StackSettings().api_port}"


def _token_file() -> Path:
    return StackSettings().state_dir / "token.json"


def users_file() -> Path:
    return StackSettings().state_dir / "platform-users.json"


def login(username: str, password: str, realm: str | None = None) -> dict[str, Any]:
    """Password login at Keycloak with the console client; the token is kept in the state dir."""
    env = app_env(local_stack())
    realm = realm or env.get("TAAS_PLATFORM_REALM", "taas-platform")
    url = f"{env['TAAS_KEYCLOAK_URL']}/realms/{realm}/protocol/openid-connect/token"
    response = httpx.post(
        url,
        data={
            "grant_type": "password",
            "client_id": CONSOLE_CLIENT,
            "username": username,
            "password": password,
            "scope": "openid organization",
        },
        timeout=15,
    )
    if response.status_code != 200:
        raise Unauthorized(
            f"login as {username} in realm {realm} failed: {response.text[:200]}",
            hint="check the user name and password (taas platform init prints the dev users)",
        )
    token: dict[str, Any] = response.json()
    return store_token(token, username=username, realm=realm)


def store_token(token: dict[str, Any], *, username: str, realm: str) -> dict[str, Any]:
    """Keep a token for the next commands (in the state dir, readable only by you)."""
    token["expires_at"] = time.time() + float(token.get("expires_in", 60))
    token["username"], token["realm"] = username, realm
    path = _token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(token))
    path.chmod(0o600)
    return token


def access_token() -> str:
    """``TAAS_TOKEN`` if set (automation), else the stored login, refreshed for dev users."""
    if os.environ.get("TAAS_TOKEN"):
        return os.environ["TAAS_TOKEN"]
    path = _token_file()
    if path.exists():
        token = json.loads(path.read_text())
        if token.get("expires_at", 0) - 15 > time.time():
            return str(token["access_token"])
        dev_users = json.loads(users_file().read_text()) if users_file().exists() else {}
        if token.get("username") in dev_users:
            return str(
                login(token["username"], dev_users[token["username"]], token["realm"])[
                    "access_token"
                ]
            )
        raise Unauthorized("your login expired", hint="log in again: taas login")
    raise Unauthorized("not logged in", hint="taas login (after taas platform init)")


class ApiClient:
    """Calls the control-plane API and turns problem+json errors into TaasError."""

    def __init__(self, base_url: str | None = None, token: str | None = None) -> None:
        self.base_url = base_url or api_url()
        self.token = token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token or access_token()}"}
        headers.update(kwargs.pop("headers", {}))
        try:
            response = httpx.request(
                method, self.base_url + path, headers=headers, timeout=30, **kwargs
            )
        except httpx.HTTPError as exc:
            raise TaasError(
                f"cannot reach the control plane at {self.base_url}: {exc}",
                hint="start it with: taas platform up",
            ) from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:300]}
            raise TaasError(
                f"{response.status_code}: {problem.get('detail')}", hint=problem.get("hint")
            )
        return response.json()
