"""``/v1/operators``: platform operators add, list and remove operators and auditors
(users of the platform realm in the real Keycloak)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from catalog_support import VendorAccount
from conftest import ControlPlane
from support import unique_slug

PROBLEM = "application/problem+json"


def first_login(username: str) -> str:
    """What the user does in the account console: replace the temporary password."""
    from taas.integrations.systems import systems

    admin = systems().identity.admin("taas-platform")
    user_id = admin.get_user_id(username)
    password = "Own-pass-1-" + uuid.uuid4().hex[:8]
    admin.set_user_password(user_id, password, temporary=False)
    admin.update_user(user_id, {"requiredActions": []})
    return password


@pytest.fixture
def added(api: Any, operator: dict[str, str]) -> Iterator[Callable[..., dict[str, Any]]]:
    """Add platform users through the API; whatever is left is removed at the end."""
    names: list[str] = []

    def add(role: str = "platform-operator", **headers: str) -> dict[str, Any]:
        username = unique_slug("op")
        response = api.post(
            "/v1/operators",
            json={"username": username, "email": f"{username}@ops.example", "role": role},
            headers={**operator, **headers},
        )
        assert response.status_code == 201, response.text
        names.append(username)
        body: dict[str, Any] = response.json()
        return body

    yield add
    from taas.integrations.systems import systems

    admin = systems().identity.admin("taas-platform")
    for username in names:
        user_id = admin.get_user_id(username)
        if user_id is not None:
            admin.delete_user(user_id)


def audit_actions(api: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = api.get("/v1/audit", params={"after": after, "limit": 500}, headers=headers).json()
        events += page["items"]
        if not page["next_after"]:
            return events
        after = page["next_after"]


def test_an_operator_adds_an_operator_who_can_then_review(
    api: Any,
    operator: dict[str, str],
    control_plane: ControlPlane,
    added: Callable[..., dict[str, Any]],
) -> None:
    created = added()
    new = created["operator"]
    assert new["roles"] == ["platform-operator"]
    assert new["pending_setup"] is True
    assert created["temporary_password"]
    assert created["account_url"].endswith("/realms/taas-platform/account")

    listed = api.get("/v1/operators", headers=operator).json()["items"]
    assert new["username"] in {row["username"] for row in listed}
    assert "test-operator" in {row["username"] for row in listed}

    password = first_login(new["username"])
    token = control_plane.token(new["username"], password=password)
    mine = api.get("/v1/operators", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200, mine.text
    listed = {row["username"]: row for row in mine.json()["items"]}
    assert listed[new["username"]]["pending_setup"] is False

    events = audit_actions(api, operator)
    create = [e for e in events if e["action"] == "operator.create"]
    assert create[-1]["detail"]["username"] == new["username"]
    assert "password" not in str(create[-1]["detail"])


def test_an_auditor_reads_the_trail_but_cannot_manage_operators(
    api: Any, control_plane: ControlPlane, added: Callable[..., dict[str, Any]]
) -> None:
    created = added(role="platform-auditor")
    assert created["operator"]["roles"] == ["platform-auditor"]
    username = created["operator"]["username"]
    token = control_plane.token(username, password=first_login(username))
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/v1/audit", params={"limit": 1}, headers=headers).status_code == 200
    refused = api.get("/v1/operators", headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM


def test_only_operators_may_manage_operators(
    api: Any,
    auditor: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
) -> None:
    vendor = make_vendor().headers()
    for headers in (auditor, vendor):
        assert api.get("/v1/operators", headers=headers).status_code == 403
        body = {"username": unique_slug("op"), "email": "x@ops.example"}
        response = api.post("/v1/operators", json=body, headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == PROBLEM
        assert api.delete("/v1/operators/test-operator", headers=headers).status_code == 403
    assert api.get("/v1/operators").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"username": "Upper", "email": "x@ops.example"},
        {"username": "a0", "email": "x@ops.example"},  # Keycloak wants 3 or more: not a 502
        {"username": "ok-name", "email": "not an address"},
        {"username": "ok-name", "email": "x@ops.example", "role": "admin"},
        {"username": "ok-name", "email": "x@ops.example", "role": "bank-admin"},
        {"username": "ok-name", "email": "x@ops.example", "extra": 1},
        {"username": 12345, "email": "x@ops.example"},
        {"username": "ok-name", "email": "x@ops.example", "role": True},
        {"email": "x@ops.example"},
    ],
)
def test_a_bad_request_is_a_422_naming_the_field(
    api: Any, operator: dict[str, str], body: dict[str, Any]
) -> None:
    response = api.post("/v1/operators", json=body, headers=operator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"]


def test_adding_is_idempotent_and_keeps_no_password_at_rest(
    api: Any, operator: dict[str, str], added: Callable[..., dict[str, Any]]
) -> None:
    key = str(uuid.uuid4())
    first = added(**{"Idempotency-Key": key})
    username = first["operator"]["username"]
    body = {"username": username, "email": f"{username}@ops.example", "role": "platform-operator"}
    again = api.post("/v1/operators", json=body, headers={**operator, "Idempotency-Key": key})
    assert again.status_code == 201, again.text
    assert again.json()["operator"]["id"] == first["operator"]["id"]
    # The first answer was lost, say: a new temporary password replaces the first one.
    assert again.json()["temporary_password"] not in (None, first["temporary_password"])

    first_login(username)
    late = api.post("/v1/operators", json=body, headers={**operator, "Idempotency-Key": key})
    assert late.status_code == 201
    assert late.json()["temporary_password"] is None

    other = {**body, "role": "platform-auditor"}
    reused = api.post("/v1/operators", json=other, headers={**operator, "Idempotency-Key": key})
    assert reused.status_code == 422
    taken = api.post("/v1/operators", json=body, headers=operator)
    assert taken.status_code == 409
    assert "already exists" in taken.json()["detail"]
    # Another name with the same address: Keycloak refuses it, which is a 409, not a 502.
    same_email = {**body, "username": unique_slug("op")}
    clash = api.post("/v1/operators", json=same_email, headers=operator)
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"] == PROBLEM
    assert "email address" in clash.json()["detail"]

    with psycopg.connect(os.environ["TAAS_DATABASE_URL"]) as conn:
        stored = conn.execute(
            "SELECT response::text FROM idempotency_keys WHERE key = %s", (key,)
        ).fetchone()
    assert stored is not None
    assert first["temporary_password"] not in stored[0]
    assert again.json()["temporary_password"] not in stored[0]


def test_removing_refuses_yourself_and_unknown_names(
    api: Any,
    operator: dict[str, str],
    control_plane: ControlPlane,
    added: Callable[..., dict[str, Any]],
) -> None:
    created = added()
    username = created["operator"]["username"]
    password = first_login(username)
    own = {"Authorization": f"Bearer {control_plane.token(username, password=password)}"}

    yourself = api.delete(f"/v1/operators/{username}", headers=own)
    assert yourself.status_code == 403
    assert yourself.headers["content-type"] == PROBLEM
    assert "yourself" in yourself.json()["detail"]
    assert api.delete("/v1/operators/nobody-here", headers=operator).status_code == 404
    assert api.delete("/v1/operators/test-nobody", headers=operator).status_code == 404
    assert api.delete("/v1/operators/Bad%20Name", headers=operator).status_code == 422

    removed = api.delete(f"/v1/operators/{username}", headers=operator)
    assert removed.status_code == 204, removed.text
    listed = api.get("/v1/operators", headers=operator).json()["items"]
    assert username not in {row["username"] for row in listed}
    assert api.delete(f"/v1/operators/{username}", headers=operator).status_code == 404
    events = [e for e in audit_actions(api, operator) if e["action"] == "operator.remove"]
    assert events[-1]["detail"]["username"] == username
