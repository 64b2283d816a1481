"""Authentication comes before anything else is judged: an anonymous caller with a
malformed body learns only that it must authenticate (401), not what is wrong with the body."""

from __future__ import annotations

from typing import Any

import pytest

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}

MUTATIONS = [
    ("post", "/v1/tenants"),
    ("patch", "/v1/tenants/some-bank"),
    ("post", "/v1/tenants/some-bank/offboard"),
    ("post", "/v1/tenants/some-bank/suspend"),
    ("post", "/v1/vendors"),
    ("post", "/v1/vendors/some-vendor/plugins"),
    ("post", "/v1/plugins/some-plugin/versions/1.0.0/approve"),
    ("post", "/v1/plugins/some-plugin/versions/1.0.0/revoke"),
    ("post", "/v1/tenants/some-bank/subscriptions"),
    ("patch", "/v1/tenants/some-bank/subscriptions/some-module"),
]
MALFORMED = {
    "bad json": b'{"retention": {"keep_data_days": ',
    "wrong types": b'{"retention": {"keep_data_days": false}, "slug": 7, "reason": []}',
    "not an object": b"[1, 2, 3]",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize(("method", "path"), MUTATIONS)
def test_anonymous_malformed_requests_get_401(
    api: Any, method: str, path: str, body: bytes
) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic eDp5"}):
        response = api.request(method, path, content=body, headers={**JSON, **headers})
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"] == "Bearer"
        assert "errors" not in response.json()


def test_an_authenticated_caller_still_learns_what_is_wrong_with_the_body(
    api: Any, operator: dict[str, str]
) -> None:
    for body in MALFORMED.values():
        response = api.post("/v1/tenants", content=body, headers={**JSON, **operator})
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"] == PROBLEM


def test_the_storage_grant_is_asked_for_first(api: Any) -> None:
    response = api.post("/v1/storage/credentials?unexpected=1", content=b"{", headers=JSON)
    assert response.status_code == 401
