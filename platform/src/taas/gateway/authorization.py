"""Who may call what: the token is the bank's own, the bank is active, it subscribes to
the module, the version is served and the token carries the module's scopes."""

from __future__ import annotations

from taas.gateway.calls import Call
from taas.gateway.errors import Rejection, not_ready
from taas.gateway.proxy import Incoming
from taas.gateway.routes import Route, Snapshot, Tenant
from taas.gateway.tokens import Caller, TokenVerifier


class Authorizer:
    """Checks a call against the route table, in a fixed order, with verified tokens."""

    def __init__(self, tokens: TokenVerifier) -> None:
        self.tokens = tokens

    async def bank_of(
        self, incoming: Incoming, slug: str, snapshot: Snapshot
    ) -> tuple[Caller, Tenant]:
        """The caller, if its token is one of bank ``slug``'s, and the bank, if it is active.

        Another bank's slug and an unknown slug get the same refusal: nothing tells a
        caller whether a bank it does not belong to exists.
        """
        caller = await self.tokens.verify(incoming.authorization, snapshot.tenants)
        tenant = snapshot.tenants.get(slug)
        if (
            tenant is None
            or caller.tenant != slug
            or caller.issuer != self.tokens.issuer_for(tenant)
        ):
            raise Rejection(
                403,
                "wrong-tenant",
                f"the token does not belong to bank {slug!r}",
                hint="call with a token issued to this bank's own systems or users",
            )
        return caller, tenant

    async def authorize(self, call: Call, snapshot: Snapshot) -> tuple[Caller, Tenant, Route]:
        """Token, tenant, module, subscription, version and scopes, in that order."""
        slug, module = call.tenant_slug, call.module
        if not snapshot.ready:
            raise not_ready()
        caller, tenant = await self.bank_of(call.incoming, slug, snapshot)
        call.tenant = tenant
        if tenant.status != "active":
            raise Rejection(
                503,
                "tenant-suspended",
                f"bank {slug!r} is {tenant.status}; its calls are not served",
                hint="the bank's admin can ask the TaaS operators to resume the bank",
            )
        route = snapshot.routes.get((slug, module))
        if route is None:
            raise _no_route(snapshot, slug, module)
        call.route = route
        if not route.live:
            raise Rejection(
                503,
                "version-withdrawn",
                f"version {route.version} of module {module!r} is {route.version_status}",
                hint=withdrawn_hint(route),
                module=module,
                version=route.version,
                version_status=route.version_status,
            )
        missing = route.scopes - caller.scopes
        if missing:
            names = sorted(missing)
            raise Rejection(
                403,
                "missing-scopes",
                f"module {module!r} needs scopes the token lacks: {' '.join(names)}",
                hint="request a token that includes these scopes",
                missing_scopes=names,
            )
        return caller, tenant, route


def _no_route(snapshot: Snapshot, slug: str, module: str) -> Rejection:
    """Why bank ``slug`` has no route to ``module``: no such module, or no subscription."""
    if module not in snapshot.modules:
        return Rejection(
            404,
            "unknown-module",
            f"there is no module {module!r}",
            hint="see the module catalog for the modules on offer",
        )
    return Rejection(
        403,
        "not-subscribed",
        f"bank {slug!r} is not subscribed to module {module!r}",
        hint="the bank's admin can subscribe to it in the module catalog",
    )


def withdrawn_hint(route: Route) -> str:
    """What a bank can do about a call to a version that is not served."""
    path = f"/v1/tenants/{route.tenant}/subscriptions/{route.module}"
    if route.version_status == "suspended":
        return (
            "the TaaS operators suspended this version for now; calls are served again when "
            f"it is resumed, or the bank's admin can move to another version (PATCH {path}); "
            f"GET {path} shows the notice"
        )
    if route.version_status == "revoked":
        return (
            "the version was revoked for good; the bank's admin must move the subscription to "
            f'a published version (PATCH {path} with {{"channel": "stable"}} or a version) or '
            f"unsubscribe; GET {path} shows the notice"
        )
    return f"the version is not served; the bank's admin can move to another version ({path})"
