"""A scalar query parameter sent twice is refused; a list parameter may repeat."""

from __future__ import annotations

from typing import Any


def test_a_repeated_scalar_query_parameter_is_refused(api: Any, operator: dict[str, str]) -> None:
    response = api.get("/v1/tenants?after=a&after=b", headers=operator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"loc": ["query", "after"], "msg": "given more than once"}]


def test_a_list_query_parameter_may_repeat(api: Any, operator: dict[str, str]) -> None:
    response = api.get("/v1/tenants?status=active&status=suspended", headers=operator)
    assert response.status_code == 200, response.text


def test_an_anonymous_caller_is_refused_for_its_credentials_first(api: Any) -> None:
    assert api.get("/v1/tenants?after=a&after=b").status_code == 401
