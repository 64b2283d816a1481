"""The same Keycloak admin calls made by three callers, side by side in one run.

- ``control_plane``: the control plane's configured service-account client, which holds
  the management roles of the platform's three realms (before the realm creator took the
  silo realms' grants off it, those of every silo realm too);
- ``one_realm``: a scratch client in master holding only the shared bank realm's
  management roles (the same roles, for one realm);
- ``admin_user``: the master realm's admin user.

Each caller takes ``--tokens`` tokens and makes ``--samples`` of each read in the shared
bank realm, in ``--rounds`` interleaved rounds; the script prints p50 per call and the
ratio of the control plane's to the one-realm client's, and counts the role grants of each
control-plane account (the realm creator's grow with the silo realms). It also times the
reconciler's Keycloak listing by request kind, logins included. Run it on a stack with
tenants (after ``provisioning.py --keep``) and on an empty one: the difference between
the callers is what role grants cost each request.

    python benchmarks/keycloak_callers.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from typing import Any

import httpx
import psycopg
from keycloak import KeycloakOpenIDConnection

from _platform import DATABASE
from _results import stack_env, write_results
from taas.integrations.identity import IdentityTenants
from taas.integrations.identity.connection import realm_creator
from taas.integrations.inventory import RealmWanted, list_identity, realms_wanted
from taas.integrations.spec import TenantSpec

PROBE_CLIENT = "taas-bench-one-realm"
BANKS = "taas-banks"
READS = {
    "role": f"admin/realms/{BANKS}/roles/bank-admin",
    "client_by_id": f"admin/realms/{BANKS}/clients?clientId=absent&briefRepresentation=true",
    "user_by_name": f"admin/realms/{BANKS}/users?username=absent&exact=true",
    "organization_search": f"admin/realms/{BANKS}/organizations?search=absent",
    "users_count": f"admin/realms/{BANKS}/users/count",
}


def _ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


class Callers:
    def __init__(self, env: dict[str, str]) -> None:
        self.url = env["TAAS_KEYCLOAK_URL"]
        self.identity = IdentityTenants(
            self.url,
            env["TAAS_KEYCLOAK_ADMIN_USER"],
            env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
            banks_realm=BANKS,
            platform_realm="taas-platform",
        )
        self.probe_secret = f"bench-{time.time_ns()}-one-realm-secret"
        self.forms = {
            "control_plane": {
                "grant_type": "client_credentials",
                "client_id": env["TAAS_KEYCLOAK_CLIENT_ID"],
                "client_secret": env["TAAS_KEYCLOAK_CLIENT_SECRET"],
            },
            "one_realm": {
                "grant_type": "client_credentials",
                "client_id": PROBE_CLIENT,
                "client_secret": self.probe_secret,
            },
            "admin_user": {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": env["TAAS_KEYCLOAK_ADMIN_USER"],
                "password": env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
            },
        }
        self.control_plane = env["TAAS_KEYCLOAK_CLIENT_ID"]

    def make_probe(self) -> str:
        """The one-realm client (made afresh, so its secret is this run's)."""
        master = self.identity.admin("master")
        self.remove_probe()
        master.create_client(
            {
                "clientId": PROBE_CLIENT,
                "publicClient": False,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "secret": self.probe_secret,
                "attributes": {"client.use.lightweight.access.token.enabled": "true"},
            }
        )
        account = master.get_client_service_account_user(self._client(PROBE_CLIENT))
        self.identity.grant_realm_management(master, account["id"], PROBE_CLIENT, BANKS)
        return str(account["id"])

    def _client(self, client_id: str) -> str:
        found = self.identity.admin("master").get_client_id(client_id)
        if found is None:
            raise SystemExit(f"client {client_id} is missing in master: run `taas platform init`")
        return found

    def remove_probe(self) -> None:
        master = self.identity.admin("master")
        found = master.get_client_id(PROBE_CLIENT)
        if found:
            master.delete_client(found)

    def role_grants(self, client_id: str) -> int:
        master = self.identity.admin("master")
        account = master.get_client_service_account_user(self._client(client_id))
        roles = master.get_all_roles_of_user(account["id"])
        clients = roles.get("clientMappings") or {}
        return len(roles.get("realmMappings") or []) + sum(
            len(c.get("mappings") or []) for c in clients.values()
        )

    def token(self, who: str) -> tuple[str, float]:
        started = time.perf_counter()
        response = httpx.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data=self.forms[who],
            timeout=60,
        )
        response.raise_for_status()
        return str(response.json()["access_token"]), time.perf_counter() - started

    def read(self, token: str, path: str) -> float:
        started = time.perf_counter()
        response = httpx.get(
            f"{self.url}/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed


def side_by_side(callers: Callers, tokens: int, samples: int, rounds: int) -> dict[str, Any]:
    times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for number in range(rounds):
        for who in callers.forms:
            token = ""
            for _ in range(tokens):
                token, seconds = callers.token(who)
                times[who]["token"].append(seconds)
            for name, path in READS.items():
                times[who][name] += [callers.read(token, path) for _ in range(samples)]
        print(f"round {number + 1}/{rounds} done")
    p50 = {who: {f"{k}_p50_ms": _ms(v) for k, v in calls.items()} for who, calls in times.items()}
    mean_read = {who: statistics.mean(p50[who][f"{n}_p50_ms"] for n in READS) for who in p50}
    return {
        "p50_ms": p50,
        "read_ratio_control_plane_to_one_realm": round(
            mean_read["control_plane"] / mean_read["one_realm"], 2
        ),
        "read_ratio_admin_user_to_one_realm": round(
            mean_read["admin_user"] / mean_read["one_realm"], 2
        ),
    }


def listing(callers: Callers, env: dict[str, str]) -> dict[str, Any]:
    """The reconciler's Keycloak listing for the benchmark's tenants, by request kind."""
    url = env["TAAS_DATABASE_URL"].rsplit("/", 1)[0] + "/" + DATABASE
    try:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT id, slug, tier, region FROM tenants WHERE status IN ('active', 'suspended')"
            ).fetchall()
    except psycopg.OperationalError:
        rows = []  # no benchmark database: an empty stack
    identity = IdentityTenants(
        callers.url,
        "",
        "",
        banks_realm=BANKS,
        platform_realm="taas-platform",
        client_id=env["TAAS_KEYCLOAK_CLIENT_ID"],
        client_secret=env["TAAS_KEYCLOAK_CLIENT_SECRET"],
    )
    wanted = realms_wanted(identity, [TenantSpec(*row) for row in rows])
    wanted.setdefault(BANKS, RealmWanted())
    spent: dict[str, list[float]] = defaultdict(list)
    original = KeycloakOpenIDConnection.raw_get

    def timed(self: KeycloakOpenIDConnection, path: str, **params: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, path, **params)
        finally:
            parts = path.split("/")
            kind = "realms" if path == "admin/realms" else "realm" if len(parts) == 3 else parts[-1]
            where = "shared" if BANKS in parts else "silo"
            spent[f"{where}_{kind}" if kind != "realms" else kind].append(
                time.perf_counter() - started
            )

    original_login = KeycloakOpenIDConnection.get_token

    def timed_login(self: KeycloakOpenIDConnection) -> None:
        started = time.perf_counter()
        try:
            original_login(self)
        finally:
            where = "shared" if self.realm_name == BANKS else "silo"
            spent[f"{where}_login"].append(time.perf_counter() - started)

    KeycloakOpenIDConnection.raw_get = timed  # type: ignore[method-assign]
    KeycloakOpenIDConnection.get_token = timed_login  # type: ignore[method-assign]
    passes: list[dict[str, Any]] = []
    try:
        for _ in range(2):  # the second as the worker's next pass: with the tokens kept
            spent.clear()
            started = time.perf_counter()
            list_identity(identity, dict(wanted))
            total = time.perf_counter() - started
            passes.append(
                {
                    "s": round(total, 2),
                    "requests": {
                        kind: {"n": len(v), "sum_s": round(sum(v), 2), "p50_ms": _ms(v)}
                        for kind, v in sorted(spent.items())
                    },
                }
            )
    finally:
        KeycloakOpenIDConnection.raw_get = original  # type: ignore[method-assign]
        KeycloakOpenIDConnection.get_token = original_login  # type: ignore[method-assign]
    return {
        "tenants": len(rows),
        "silo_realms": len(wanted) - 1,
        "s": passes[0]["s"],
        "requests": passes[0]["requests"],
        "second_pass": passes[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--name", default="keycloak_callers")
    args = parser.parse_args()
    env = stack_env()
    callers = Callers(env)
    callers.make_probe()
    try:
        figures: dict[str, Any] = {
            "role_grants": {
                "control_plane": callers.role_grants(callers.control_plane),
                "realm_creator": callers.role_grants(realm_creator(callers.control_plane)),
                "one_realm": callers.role_grants(PROBE_CLIENT),
            },
            **side_by_side(callers, args.tokens, args.samples, args.rounds),
        }
    finally:
        callers.remove_probe()
    figures["listing"] = listing(callers, env)
    write_results(args.name, figures)


if __name__ == "__main__":
    main()
