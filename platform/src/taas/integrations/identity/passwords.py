"""Passwords the platform hands out once: a bank's first admin, a new operator."""

from __future__ import annotations

import secrets


def new_password() -> str:
    """A password that satisfies Keycloak's default policy."""
    return secrets.token_urlsafe(18) + "-Aa1"
