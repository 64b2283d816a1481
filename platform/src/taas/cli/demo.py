"""``taas demo``: the main job, end to end on the local stack.

1. bring the local stack up and show it healthy;
2. set up the control plane (migrations, realms, dev users) and start its API and worker;
3. provision a bank tenant through the API, following the saga step by step;
4. show what now exists for the bank in Kubernetes, PostgreSQL, MinIO and Keycloak;
5. a vendor registers a plugin, the platform validates it, the operator approves it;
6. the bank subscribes and calls it through the gateway;
7. the reference modules (risk, marketing, OCR) are registered the same way, and the bank
   scores a loan application, segments a customer file and reads an ID card;
8. verify the audit chain and show the metered usage.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from rich.console import Console
from rich.table import Table

from taas.cli import platform as platform_cli
from taas.cli.demo_modules import reference_modules
from taas.cli.demo_platform import bank_token, open_platform, tenant_spec
from taas.cli.errors import friendly_errors
from taas.cli.output import usage_table
from taas.cli.session import ApiClient, login, users_file
from taas.cli.tenants import follow
from taas.integrations.systems import Systems
from taas.kit.settings import AppSettings, StackSettings
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack

console = Console(highlight=False)
DEMO_SLUG = "demo-rural-bank"


@friendly_errors
def demo() -> None:
    """Bring the stack up, provision a bank tenant and show it in every system."""
    started = time.monotonic()
    _local_cloud()
    _control_plane()
    client = ApiClient()
    tenant = _bank(client)
    _show_tenant(tenant)
    open_platform(client, tenant)
    reference_modules(client, tenant, bank_token(tenant))
    _audit_and_usage(client, tenant)
    console.print(
        f"\n[bold]demo done in {time.monotonic() - started:.1f}s[/] — try: "
        f"taas tenants list · taas catalog · taas subscriptions usage {tenant['slug']} · "
        "taas audit tail"
    )


def _local_cloud() -> None:
    console.rule("1. the local cloud in a box")
    stack = LocalStack(StackContext(StackSettings()))
    stack.up([])
    for row in stack.status([]):
        mark = "[green]✓[/]" if row.health.ok else "[red]✗[/]"
        version = row.health.version or row.pinned_version
        console.print(f"{mark} {row.name:<24} {version:<34} {row.health.detail}")
    env = stack.env()
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})


def _control_plane() -> None:
    console.rule("2. the control plane")
    platform_cli.init()
    platform_cli.up()
    users = json.loads(users_file().read_text())
    login("operator", users["operator"])
    console.print("[green]✓[/] logged in as the platform operator")


def _bank(client: ApiClient) -> dict[str, Any]:
    """The demo bank: provisioned now, or the one an earlier demo left."""
    console.rule("3. provision a bank")
    existing = client.request("GET", "/v1/tenants", params={"q": DEMO_SLUG})["items"]
    tenant: dict[str, Any] | None = next((t for t in existing if t["slug"] == DEMO_SLUG), None)
    if tenant is not None and tenant["status"] not in ("offboarded", "failed"):
        console.print(f"[dim]·[/] tenant {tenant['slug']} already exists ({tenant['status']})")
        return tenant
    slug = DEMO_SLUG if tenant is None else f"{DEMO_SLUG}-{uuid.uuid4().hex[:4]}"
    accepted = client.request(
        "POST",
        "/v1/tenants",
        json={
            "slug": slug,
            "display_name": "Demo Rural Commercial Bank",
            "tier": "pool",
            "region": "cn-east-1",
            "contacts": [{"name": "Wang Fang", "email": "it@demo-bank.example"}],
            "quotas": {"cpu": "4", "memory": "8Gi", "storage_gb": 50, "requests_per_second": 100},
        },
        headers={"Idempotency-Key": f"demo-{slug}"},
    )
    console.print(f"→ tenant {slug} requested; operation {accepted['operation']['id']}")
    follow(client, accepted["tenant"]["id"], accepted["operation"]["id"])
    provisioned: dict[str, Any] = client.request("GET", f"/v1/tenants/{accepted['tenant']['id']}")
    return provisioned


def _audit_and_usage(client: ApiClient, tenant: dict[str, Any]) -> None:
    console.rule("11. audit and usage")
    report = client.request("GET", "/v1/audit/verify")
    console.print(
        f"[green]✓[/] audit chain intact ({report['events']} events)"
        if report["ok"]
        else f"[red]✗[/] audit chain broken: {report['problems']}"
    )
    time.sleep(1.5)  # the gateway flushes metered calls every second
    console.print("metered calls of the bank this month (for billing):")
    usage_table(client.request("GET", f"/v1/tenants/{tenant['id']}/usage"))


def _show_tenant(tenant: dict[str, Any]) -> None:
    console.rule("4. what the bank got in each system")
    systems = Systems.from_settings(AppSettings())
    spec = tenant_spec(tenant)
    table = Table(show_header=True)
    table.add_column("system")
    table.add_column("what exists for the bank")
    ns = spec.namespace
    k8s = systems.kubernetes
    objects = [
        f"{kind} {manifest['metadata']['name']}"
        for api, kind, manifest, _ in k8s.desired_objects(spec)
        if k8s.object_exists(spec, api, kind, manifest["metadata"]["name"])
    ]
    table.add_row("Kubernetes", f"namespace {ns} (Pod Security: restricted)\n" + "\n".join(objects))
    pg = systems.postgres.exists(spec)
    table.add_row(
        "PostgreSQL",
        f"schema {spec.db_name} in {systems.postgres.database_of(spec)}: {pg['schema']}\n"
        f"login role {spec.db_name} (reaches only that schema): {pg['role']}",
    )
    s3 = systems.storage.s3
    table.add_row(
        "MinIO",
        f"bucket {spec.bucket}: versioning {s3.get_bucket_versioning(spec.bucket).status}, "
        f"encryption {'SSE-S3' if s3.get_bucket_encryption(spec.bucket) else 'none'}\n"
        f"service identity {spec.storage_user} with a policy for this bucket only",
    )
    identity = systems.identity.exists(spec)
    where = (
        f"realm {spec.realm}"
        if spec.isolated
        else f"organization {spec.slug} in realm {systems.identity.banks_realm}"
    )
    table.add_row(
        "Keycloak",
        f"{where}\nclient {spec.systems_client}: {identity['client']}\n"
        f"first admin {spec.admin_username} (role bank-admin, must change password): "
        f"{identity['admin_user']}",
    )
    credentials = systems.kubernetes.read_credentials(spec)
    table.add_row(
        "Credentials",
        f"Secret taas-tenant-credentials in {ns}: {', '.join(sorted(credentials))}",
    )
    console.print(table)
