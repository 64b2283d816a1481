"""Cost of a tenant's identity space: an organization in the shared bank realm (pool) next to
a realm of its own (silo), measured side by side on the local Keycloak.

For each kind it creates ``--count`` tenants' identity spaces exactly as provisioning does
(org or realm, bank-admin role, first admin user, systems client), then measures a
client-credentials token, the Keycloak process's resident memory, and the time to list
realms. Everything it creates is removed at the end.

    python benchmarks/identity_tiers.py [--count 20]

The figures back docs/adr/0002-tenant-identity-realm-or-organization.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from pathlib import Path

import httpx

from _results import stack_env, write_results
from taas.integrations.identity import IdentityTenants, new_password
from taas.integrations.spec import TenantSpec


def _keycloak_rss_mb() -> float:
    pid_file = Path.home() / ".local/state/taas/run/keycloak.pid"
    pid = int(pid_file.read_text().split()[0])
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for one in [pid, *map(int, children)]:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _token_ms(identity: IdentityTenants, spec: TenantSpec, secret: str, rounds: int = 20) -> float:
    url = f"{identity.url}/realms/{identity.realm_of(spec)}/protocol/openid-connect/token"
    times = []
    with httpx.Client(timeout=10) as http:
        for _ in range(rounds):
            started = time.perf_counter()
            response = http.post(
                url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": spec.systems_client,
                    "client_secret": secret,
                },
            )
            response.raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _list_realms_ms(identity: IdentityTenants) -> float:
    admin = identity.admin("master")
    started = time.perf_counter()
    admin.get_realms()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    env = stack_env()
    identity = IdentityTenants(
        env["TAAS_KEYCLOAK_URL"],
        env["TAAS_KEYCLOAK_ADMIN_USER"],
        env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
        banks_realm="taas-banks",
        platform_realm="taas-platform",
    )
    identity.ensure_platform()
    figures: dict[str, float] = {"count_per_kind": args.count}
    made: list[TenantSpec] = []
    try:
        for tier, kind in (("pool", "organization"), ("silo", "realm")):
            rss_before = _keycloak_rss_mb()
            seconds = []
            secret = ""
            for _ in range(args.count):
                spec = TenantSpec(
                    id=uuid.uuid4(), slug=f"id{uuid.uuid4().hex[:8]}", tier=tier, region="bench"
                )
                made.append(spec)
                started = time.perf_counter()
                _, credentials = identity.ensure(spec, new_password())
                seconds.append(time.perf_counter() - started)
                secret = credentials.client_secret
            figures[f"{kind}_create_p50_ms"] = round(statistics.median(seconds) * 1000, 1)
            figures[f"{kind}_create_max_ms"] = round(max(seconds) * 1000, 1)
            figures[f"{kind}_token_p50_ms"] = round(_token_ms(identity, made[-1], secret), 2)
            figures[f"{kind}_keycloak_rss_growth_mb_per_tenant"] = round(
                (_keycloak_rss_mb() - rss_before) / args.count, 2
            )
            figures[f"list_realms_ms_after_{kind}s"] = round(_list_realms_ms(identity), 1)
        figures["realm_to_organization_create_ratio"] = round(
            figures["realm_create_p50_ms"] / figures["organization_create_p50_ms"], 2
        )
    finally:
        for spec in made:
            identity.remove(spec)
    write_results("identity_tiers", figures)


if __name__ == "__main__":
    main()
