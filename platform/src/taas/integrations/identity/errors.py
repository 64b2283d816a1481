"""Keycloak's failures as retry-aware errors: unreachable or overloaded means try again,
a refusal is permanent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests
from keycloak.exceptions import KeycloakError

from taas.kit.errors import PermanentError, TaasError, TemporaryError

T = TypeVar("T")


def translate(call: Callable[[], T], what: str) -> T:
    """Run one admin call, turning its failure into a ``TemporaryError`` or ``PermanentError``."""
    try:
        return call()
    except KeycloakError as exc:
        raise failure(exc, what) from exc
    except requests.RequestException as exc:
        raise unreachable(exc, what) from exc


def unreachable(exc: requests.RequestException, what: str) -> TemporaryError:
    return TemporaryError(f"Keycloak unreachable during {what}: {exc}", delay=2)


def failure(exc: KeycloakError, what: str) -> TaasError:
    """The typed error for Keycloak's refusal ``exc`` of ``what``."""
    code = exc.response_code or 0
    if code == 0:
        return TemporaryError(f"Keycloak unreachable during {what}: {exc}", delay=2)
    if code >= 500 or code == 429:
        return TemporaryError(f"Keycloak {what}: HTTP {code}", delay=2)
    return PermanentError(
        f"Keycloak refused {what}: HTTP {code} {exc.error_message!s:.300}",
        hint="check the realm in the Keycloak admin console",
    )


def missing(call: Callable[[], T]) -> T | None:
    """``call``'s answer, or None when Keycloak answers 404."""
    try:
        return call()
    except KeycloakError as exc:
        if exc.response_code == 404:
            return None
        raise
