"""Pure logic the adapters use to decide whether something drifted."""

from __future__ import annotations

from taas.integrations.kubernetes import _subset


def test_subset_ignores_fields_the_api_server_adds() -> None:
    wanted = {"hard": {"pods": "50", "requests.cpu": "2"}}
    actual = {"hard": {"pods": "50", "requests.cpu": "2", "extra": "1"}, "scopes": None}
    assert _subset(wanted, actual)


def test_subset_sees_a_changed_or_missing_value() -> None:
    assert not _subset({"hard": {"pods": "50"}}, {"hard": {"pods": "40"}})
    assert not _subset({"hard": {"pods": "50"}}, {"hard": {}})
    assert not _subset({"rules": [{"verbs": ["get"]}]}, {"rules": []})


def test_subset_compares_numbers_and_strings_as_the_api_server_returns_them() -> None:
    assert _subset({"port": 53}, {"port": 53})
    assert _subset({"replicas": "2"}, {"replicas": 2})
