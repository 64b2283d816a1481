"""How the CLI reaches the control plane: its URL, the stored logins and the HTTP client.

Logins are kept as named *profiles* (like kubectl contexts) in one file, readable only by
you: ``$TAAS_PROFILES_FILE``, by default ``profiles.json`` in the state dir. A platform
login goes to a profile named after the user (``operator``), a vendor login to one named
after its client (``vendor-<slug>``); one profile is current. A command uses, in this
order: ``TAAS_TOKEN`` (automation), the profile named by ``--profile`` or
``TAAS_PROFILE``, the current profile.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from taas.kit.errors import NotFound, TaasError, Unauthorized
from taas.kit.settings import StackSettings
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack

CONSOLE_CLIENT = "taas-console"
PLATFORM_REALM = "taas-platform"
VENDOR_REALM_LABEL = "vendors"  # how a vendor (client-credentials) login names its realm


class _Selection:
    """The profile named by the global ``--profile`` option (or TAAS_PROFILE), if any."""

    profile: str | None = None


_selection = _Selection()


def local_stack() -> LocalStack:
    return LocalStack(StackContext(StackSettings()))


def app_env(stack: LocalStack) -> dict[str, str]:
    """Environment for the API and workers: the stack's endpoints plus what is already set."""
    env = stack.env()
    env.update({key: value for key, value in os.environ.items() if key.startswith("TAAS_")})
    return env


def api_url() -> str:
    return os.environ.get("TAAS_API_URL") or f"http://127.0.0.1:{StackSettings().api_port}"


def users_file() -> Path:
    return StackSettings().state_dir / "platform-users.json"


# ---------------------------------------------------------------------- profiles


def profiles_file() -> Path:
    """Where the profiles are kept (``TAAS_PROFILES_FILE``, else the state dir)."""
    configured = os.environ.get("TAAS_PROFILES_FILE")
    return Path(configured) if configured else StackSettings().state_dir / "profiles.json"


def _legacy_token_file() -> Path:
    """The single login that CLI versions before profiles kept."""
    return profiles_file().with_name("token.json")


def select_profile(name: str | None) -> None:
    """Use profile ``name`` for this command instead of the current one."""
    _selection.profile = name or None


def selected_profile() -> str | None:
    return _selection.profile


def default_profile_name(username: str, realm: str) -> str:
    """``operator`` for the platform realm's operator, ``vendor-acme`` for a vendor,
    ``alice@bank-x`` for a user of another realm."""
    if realm in (PLATFORM_REALM, VENDOR_REALM_LABEL):
        return username
    return f"{username}@{realm}"


def load_profiles() -> dict[str, Any]:
    """``{"current": name | None, "profiles": {name: login}}``; a login kept by an older
    CLI (``token.json``) becomes a profile the first time."""
    path = profiles_file()
    if path.exists():
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except ValueError as exc:
            raise TaasError(
                f"{path} is not valid JSON: {exc}",
                hint=f"delete {path} and log in again: taas login",
            ) from exc
        data.setdefault("profiles", {})
        data.setdefault("current", None)
        return data
    data = {"current": None, "profiles": {}}
    legacy = _legacy_token_file()
    if legacy.exists():
        try:
            token = json.loads(legacy.read_text())
        except ValueError:
            token = None
        if isinstance(token, dict) and token.get("access_token"):
            name = default_profile_name(
                str(token.get("username", "operator")), str(token.get("realm", PLATFORM_REALM))
            )
            data = {"current": name, "profiles": {name: token}}
            save_profiles(data)
        legacy.unlink()
    return data


def save_profiles(data: dict[str, Any]) -> None:
    path = profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.touch(mode=0o600)
    temporary.chmod(0o600)
    temporary.write_text(json.dumps(data, indent=2))
    temporary.replace(path)


def use_profile(name: str) -> None:
    """Make ``name`` the current profile."""
    data = load_profiles()
    _known(data, name)
    data["current"] = name
    save_profiles(data)


def remove_profile(name: str) -> bool:
    """Forget profile ``name``; return whether it was the current one."""
    data = load_profiles()
    _known(data, name)
    del data["profiles"][name]
    was_current: bool = data["current"] == name
    if was_current:
        data["current"] = None
    save_profiles(data)
    return was_current


def _known(data: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in data["profiles"]:
        names = ", ".join(sorted(data["profiles"])) or "none yet"
        raise NotFound(
            f"no profile named {name!r} (profiles: {names})",
            hint=f"log in to create it: taas login --profile {name} "
            f"(or taas vendors login ... --profile {name})",
        )
    profile: dict[str, Any] = data["profiles"][name]
    return profile


def login(
    username: str, password: str, realm: str | None = None, *, profile: str | None = None
) -> dict[str, Any]:
    """Password login at Keycloak with the console client, kept as a profile."""
    env = app_env(local_stack())
    realm = realm or env.get("TAAS_PLATFORM_REALM", PLATFORM_REALM)
    url = f"{env['TAAS_KEYCLOAK_URL']}/realms/{realm}/protocol/openid-connect/token"
    token = _console_grant(
        url, {"grant_type": "password", "username": username, "password": password}
    )
    token["token_url"] = url
    return store_token(token, username=username, realm=realm, profile=profile)


def _console_grant(url: str, form: dict[str, str]) -> dict[str, Any]:
    """A token from the console client (password or refresh-token grant)."""
    response = httpx.post(
        url,
        data={**form, "client_id": CONSOLE_CLIENT, "scope": "openid organization"},
        timeout=15,
    )
    if response.status_code != 200:
        text = response.text[:200]
        who = form.get("username", "the stored user")
        hint = "check the user name and password (taas platform init prints the dev users)"
        if "not fully set up" in text:
            account = url.rsplit("/protocol/", 1)[0] + "/account"
            hint = f"set your own password first: open {account} and log in there once"
        raise Unauthorized(f"login as {who} failed: {text}", hint=hint)
    token: dict[str, Any] = response.json()
    return token


def store_token(
    token: dict[str, Any], *, username: str, realm: str, profile: str | None = None
) -> dict[str, Any]:
    """Keep a token as profile ``profile`` (default: named after the user) and make that
    profile current; the file is readable only by you."""
    now = time.time()
    token["expires_at"] = now + float(token.get("expires_in", 60))
    if token.get("refresh_token"):
        token["refresh_expires_at"] = now + float(token.get("refresh_expires_in", 0) or 0)
    name = profile or default_profile_name(username, realm)
    token.update({"username": username, "realm": realm, "profile": name})
    data = load_profiles()
    data["profiles"][name] = token
    data["current"] = name
    save_profiles(data)
    return token


def _profile_name(data: dict[str, Any]) -> str | None:
    return _selection.profile or os.environ.get("TAAS_PROFILE") or data.get("current")


def access_token() -> str:
    """``TAAS_TOKEN`` if set (automation), else the chosen profile's token, refreshed
    when it can be (a refresh token, or a dev user's password)."""
    return active_login()[0]


def active_login() -> tuple[str, str | None]:
    """The token to send and the profile it comes from (None for ``TAAS_TOKEN``)."""
    if os.environ.get("TAAS_TOKEN"):
        return os.environ["TAAS_TOKEN"], None
    data = load_profiles()
    name = _profile_name(data)
    if name is None:
        if data["profiles"]:
            raise Unauthorized(
                f"no current profile (profiles: {', '.join(sorted(data['profiles']))})",
                hint="choose one: taas profiles use NAME, or pass --profile NAME",
            )
        raise Unauthorized("not logged in", hint="taas login (after taas platform init)")
    token = _known(data, name)
    if token.get("expires_at", 0) - 15 > time.time():
        return str(token["access_token"]), name
    refreshed = _refresh(token)
    if refreshed is not None:
        stored = dict(refreshed)
        now = time.time()
        stored["expires_at"] = now + float(stored.get("expires_in", 60))
        if stored.get("refresh_token"):
            stored["refresh_expires_at"] = now + float(stored.get("refresh_expires_in", 0) or 0)
        stored.update({k: token[k] for k in ("username", "realm", "profile") if k in token})
        data = load_profiles()
        data["profiles"][name] = stored
        save_profiles(data)
        return str(stored["access_token"]), name
    raise Unauthorized(f"the login of profile {name!r} expired", hint=relogin_hint(name, token))


def _refresh(token: dict[str, Any]) -> dict[str, Any] | None:
    """A new token for an expired platform or bank login, when one can be had without
    asking: with the refresh token, else (dev users) with the password in the state dir."""
    username, realm = str(token.get("username")), str(token.get("realm"))
    if realm == VENDOR_REALM_LABEL:
        return None  # client credentials: a new token needs the secret again
    url = str(token.get("token_url") or "")
    if not url:  # kept by a CLI before profiles: the local stack's Keycloak
        base = app_env(local_stack())["TAAS_KEYCLOAK_URL"]
        url = f"{base}/realms/{realm}/protocol/openid-connect/token"
    if token.get("refresh_token") and token.get("refresh_expires_at", 0) - 15 > time.time():
        grant = {"grant_type": "refresh_token", "refresh_token": str(token["refresh_token"])}
        try:
            refreshed = _console_grant(url, grant)
        except Unauthorized:
            refreshed = None  # the session ended at Keycloak: try the dev password below
        if refreshed is not None:
            return {**refreshed, "token_url": url}
    dev_users = json.loads(users_file().read_text()) if users_file().exists() else {}
    if realm == PLATFORM_REALM and username in dev_users:
        grant = {"grant_type": "password", "username": username, "password": dev_users[username]}
        return {**_console_grant(url, grant), "token_url": url}
    return None


def relogin_hint(name: str, token: dict[str, Any]) -> str:
    """The command that renews profile ``name``."""
    username, realm = str(token.get("username")), str(token.get("realm"))
    if realm == VENDOR_REALM_LABEL:
        url = token.get("token_url") or "<token_url>"
        return f"log in again: taas vendors login {username} --token-url {url} --profile {name}"
    realm_option = "" if realm == PLATFORM_REALM else f" --realm {realm}"
    return f"log in again: taas login --username {username}{realm_option} --profile {name}"


def profile_rows() -> list[dict[str, Any]]:
    """Each profile: name, user, realm, whether current, and its login's state."""
    data = load_profiles()
    chosen = _profile_name(data)
    now = time.time()
    rows = []
    for name in sorted(data["profiles"]):
        token = data["profiles"][name]
        if token.get("expires_at", 0) > now:
            state = f"valid for {int(token['expires_at'] - now)} s"
        elif token.get("refresh_expires_at", 0) > now:
            state = "expired (renewed on next use)"
        else:
            state = "expired"
        rows.append(
            {
                "name": name,
                "current": name == chosen,
                "username": token.get("username"),
                "realm": token.get("realm"),
                "state": state,
            }
        )
    return rows


# ---------------------------------------------------------------------- HTTP


def problem_message(status_code: int, problem: dict[str, Any]) -> str:
    """``422: detail`` followed by one line per invalid field of the problem's ``errors``."""
    lines = [f"{status_code}: {problem.get('detail') or problem.get('title') or 'error'}"]
    errors = problem.get("errors")
    if isinstance(errors, list):
        for error in errors:
            if not isinstance(error, dict):
                continue
            location = error.get("loc", "")
            if isinstance(location, list):
                location = ".".join(str(part) for part in location)
            lines.append(f"  {location or '(request)'}: {error.get('msg', '')}")
    return "\n".join(lines)


class ApiClient:
    """Calls the control-plane API and turns problem+json errors into TaasError."""

    def __init__(self, base_url: str | None = None, token: str | None = None) -> None:
        self.base_url = base_url or api_url()
        self.token = token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        token, profile = (self.token, None) if self.token else active_login()
        headers = {"Authorization": f"Bearer {token}"}
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
            if not isinstance(problem, dict):
                problem = {"detail": str(problem)[:300]}
            hint = problem.get("hint")
            if response.status_code == 401 and profile is not None:
                stored = load_profiles()["profiles"].get(profile, {})
                hint = relogin_hint(profile, stored)
            raise TaasError(problem_message(response.status_code, problem), hint=hint)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
