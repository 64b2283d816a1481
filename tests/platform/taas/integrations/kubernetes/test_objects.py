"""How the Kubernetes adapter decides whether an object drifted (pure logic, no server)."""

from __future__ import annotations

from taas.integrations.kubernetes.objects import subset


def test_subset_ignores_fields_the_api_server_adds() -> None:
    wanted = {"hard": {"pods": "50", "requests.cpu": "2"}}
    actual = {"hard": {"pods": "50", "requests.cpu": "2", "extra": "1"}, "scopes": None}
    assert subset(wanted, actual)


def test_subset_sees_a_changed_or_missing_value() -> None:
    assert not subset({"hard": {"pods": "50"}}, {"hard": {"pods": "40"}})
    assert not subset({"hard": {"pods": "50"}}, {"hard": {}})
    assert not subset({"rules": [{"verbs": ["get"]}]}, {"rules": []})


def test_subset_compares_numbers_and_strings_as_the_api_server_returns_them() -> None:
    assert subset({"port": 53}, {"port": 53})
    assert subset({"replicas": "2"}, {"replicas": 2})
