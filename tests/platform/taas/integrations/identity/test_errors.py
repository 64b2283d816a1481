"""How Keycloak's failures become retry-aware errors (no server)."""

from __future__ import annotations

import pytest
import requests
from keycloak.exceptions import KeycloakError

from taas.integrations.identity.errors import missing, translate
from taas.kit.errors import PermanentError, TemporaryError


def _refused(code: int) -> KeycloakError:
    return KeycloakError(error_message="no", response_code=code)


def _raise(exc: Exception) -> None:
    raise exc


@pytest.mark.parametrize("code", [0, 429, 500, 503])
def test_unreachable_or_overloaded_is_temporary(code: int) -> None:
    with pytest.raises(TemporaryError):
        translate(lambda: _raise(_refused(code)), "read realm")


@pytest.mark.parametrize("code", [400, 403, 404, 409])
def test_a_refusal_is_permanent_and_says_what_was_refused(code: int) -> None:
    with pytest.raises(PermanentError, match=f"Keycloak refused read realm: HTTP {code}"):
        translate(lambda: _raise(_refused(code)), "read realm")


def test_a_connection_failure_is_temporary() -> None:
    with pytest.raises(TemporaryError, match="unreachable during log in"):
        translate(lambda: _raise(requests.ConnectionError("refused")), "log in")


def test_missing_turns_only_404_into_none() -> None:
    assert missing(lambda: _raise(_refused(404))) is None
    assert missing(lambda: "found") == "found"
    with pytest.raises(KeycloakError):
        missing(lambda: _raise(_refused(403)))
