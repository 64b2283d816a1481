"""Storage grants the gateway hands a module with each call of a route that uses storage:
signed, short-lived, re-used while fresh (see ``taas.kit.grants``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from taas.gateway.routes import Route
from taas.kit import grants


class StorageGrants:
    """Issues and caches one grant per tenant, module and version."""

    def __init__(self, secret: str, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, str]] = {}

    def grant(self, route: Route) -> str:
        """A storage grant for the route's tenant and module, re-used while fresh."""
        key = (route.tenant_id, route.module, route.version)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] - now > self.ttl_s / 2:
            return cached[1]
        expires = now + self.ttl_s
        token = grants.issue(
            self.secret,
            grants.Grant(
                tenant=route.tenant,
                tenant_id=route.tenant_id,
                module=route.module,
                version=route.version,
                access=route.storage,
                expires_at=expires,
            ),
        )
        self._cache[key] = (expires, token)
        return token
