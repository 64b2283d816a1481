"""Fetching an issuer's signing keys (JWKS) for the token verifier."""

from __future__ import annotations

from typing import Any

import aiohttp

from taas.gateway.tokens import JwksUnavailable


class JwksClient:
    """An HTTP client for JWKS documents; opened at start-up (it needs the running loop)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def open(self) -> None:
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=5)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, issuer: str) -> dict[str, Any]:
        """The issuer's JWKS; no keys when the realm is gone (its tokens are then invalid)."""
        if self._session is None:
            raise JwksUnavailable("the gateway is not started")
        try:
            async with self._session.get(f"{issuer}/protocol/openid-connect/certs") as resp:
                if resp.status == 404:
                    return {"keys": []}  # the realm is gone: its tokens are simply invalid
                if resp.status != 200:
                    raise JwksUnavailable(f"HTTP {resp.status}")
                document: dict[str, Any] = await resp.json()
                return document
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JwksUnavailable(type(exc).__name__) from exc
