"""The open-platform part of ``taas demo``: vendor → review → subscription → call.

A vendor registers and runs its plugin (services/example_plugin), submits a version,
the platform validates it, the operator approves it, the demo bank subscribes, and the
bank's systems call it through the gateway with a token that carries the plugin's scope.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from taas.cli.plugins import show_report, wait_validated
from taas.cli.session import ApiClient, local_stack
from taas.cli.tenants import follow
from taas.integrations.spec import Quotas, TenantSpec
from taas.integrations.systems import Systems
from taas.kit.errors import TaasError
from taas.kit.oci import RegistryClient
from taas.kit.settings import AppSettings, StackSettings
from taas.localstack.app_images import PORT, ImageBuilder, checkout, recipe, save
from taas.localstack.components import Registry
from taas.plugins.manifest import Resources, version_key

console = Console(highlight=False)
VENDOR = "demo-fintech"
PLUGIN = Path(__file__).resolve().parents[4] / "services" / "example_plugin" / "app.py"


def _state(name: str) -> Path:
    return StackSettings().state_dir / name


def vendor_credentials(operator: ApiClient, slug: str, display_name: str) -> dict[str, str]:
    """Register a demo vendor once; its credentials are kept (0600) in the state dir."""
    saved = _state(f"demo-vendor-{slug}.json")
    if saved.exists():
        return dict(json.loads(saved.read_text()))
    created = operator.request(
        "POST",
        "/v1/vendors",
        json={
            "slug": slug,
            "display_name": display_name,
            "contact_email": f"dev@{slug}.example",
        },
        headers={"Idempotency-Key": f"demo-vendor-{slug}"},
    )
    credentials: dict[str, str] = created["credentials"]
    saved.write_text(json.dumps(credentials))
    saved.chmod(0o600)
    console.print(f"[green]✓[/] vendor {slug} registered (client {credentials['client_id']})")
    return credentials


def client_token(token_url: str, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        data["scope"] = scope
    response = httpx.post(token_url, data=data, timeout=15)
    if response.status_code != 200:
        raise TaasError(f"token request for {client_id} failed: {response.text[:200]}")
    return str(response.json()["access_token"])


def pushed_images(names: list[str]) -> dict[str, str]:
    """Build (cached) and push the images the demo runs; name -> reference by digest."""
    stack = local_stack()
    registry = Registry(stack.ctx)
    builder = ImageBuilder(stack.ctx.log, stack.ctx.paths, checkout())
    references = {}
    with RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as client:
        for name in names:
            built = builder.push(recipe(name), client)
            save(stack.ctx.paths, [built])
            references[name] = built.reference
            size = built.compressed_bytes / 1e6
            console.print(f"[green]✓[/] image {built.reference} ({size:.0f} MB compressed)")
    return references


def printed_manifest(program: list[str], image: str) -> dict[str, Any]:
    """The manifest a module (``python <program>``) prints of itself, built from its
    OpenAPI document, for the platform to run from ``image``."""
    printed = subprocess.run(
        [sys.executable, *program, "--manifest", "--image", image, "--port", str(PORT)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(printed))


def publish(
    operator: ApiClient, vendor: ApiClient, slug: str, manifest: dict[str, Any], review: str
) -> str:
    """The vendor submits the version (unless it did before), the platform validates it
    and the operator approves it: what a vendor and an operator do, shown step by step.

    Returns the version that is published. When the module's version was revoked (on an
    earlier run), the vendor ships the same code as the next patch version instead, as a
    vendor would; a suspended version is left to the operators, with the command to run."""
    name = manifest["name"]
    existing = {
        row["version"]: row for row in vendor.request("GET", "/v1/plugins", params={"name": name})
    }
    version = version_to_publish(name, manifest["version"], existing)
    earlier = existing.get(version, {}).get("manifest")
    if earlier is not None and _build(earlier) != _build(manifest):
        version = str(version_key(max(existing, key=version_key)).bump_patch())
        console.print(
            f"· {name} {manifest['version']} was published to run elsewhere or with other "
            f"resources; the vendor ships this build as {version}"
        )
    manifest["version"] = version
    if version not in existing:
        vendor.request(
            "POST",
            f"/v1/vendors/{slug}/plugins",
            json=manifest,
            headers={"Idempotency-Key": f"demo-{name}-{version}-{uuid.uuid4().hex[:6]}"},
        )
        console.print(f"→ vendor submitted {name} {version}; the platform validates it")
    row = vendor.request("GET", f"/v1/plugins/{name}/versions/{version}")
    if row["status"] in ("submitted", "validating"):
        row = wait_validated(vendor, name, version)
    show_report(row)
    if row["status"] == "validated":
        operator.request(
            "POST",
            f"/v1/plugins/{name}/versions/{version}/approve",
            json={"reason": f"demo review: {review}"},
        )
        console.print(f"[green]✓[/] operator approved and published {name} {version}")
    elif row["status"] not in ("published", "approved"):
        raise TaasError(
            f"{name} {version} is {row['status']}", hint=f"taas plugins status {name} {version}"
        )
    return version


def _build(manifest: dict[str, Any]) -> tuple[Any, Any, Resources]:
    """What decides where and how a version runs: its image (else its URL) and the
    resources its pods get (defaults filled in)."""
    upstream = manifest["upstream"]
    url = None if upstream.get("image") else str(upstream.get("url") or "").rstrip("/")
    # The API stores a URL with its trailing slash.
    return upstream.get("image"), url, Resources.model_validate(manifest.get("resources", {}))


def version_to_publish(name: str, version: str, existing: dict[str, dict[str, Any]]) -> str:
    """``version``, unless it was revoked: then the newest release published after it,
    or the next patch version above every version submitted so far."""
    status = existing.get(version, {}).get("status")
    if status == "suspended":
        raise TaasError(
            f"{name} {version} is suspended by an operator, so the demo cannot call it",
            hint=f"resume it: taas plugins resume {name} {version} — or, to replace it, "
            f"revoke it (taas plugins revoke {name} {version} --reason ..., approved by a "
            "second operator) and run the demo again: it then publishes the next version",
        )
    if status == "rejected":
        raise TaasError(
            f"{name} {version} was rejected in review: {existing[version].get('status_reason')}",
            hint="the vendor fixes the module and bumps its version, then runs the demo again",
        )
    if status != "revoked":
        return version
    newer = [
        v
        for v, row in existing.items()
        if row["status"] == "published" and version_key(v) > version_key(version)
    ]
    if newer:
        chosen = max(newer, key=version_key)
        console.print(f"· {name} {version} is revoked; the vendor already published {chosen}")
        return chosen
    highest = max(existing, key=version_key)
    bumped = str(version_key(highest).bump_patch())
    console.print(
        f"· {name} {version} is revoked; the vendor ships the same code as {bumped} "
        "(a revoked version never comes back: a fix is a new version)"
    )
    return bumped


def ensure_subscribed(
    operator: ApiClient, tenant: dict[str, Any], name: str, version: str, **limits: Any
) -> None:
    """Subscribe the bank (stable channel) or, when it already is, wait until its
    subscription is active on ``version`` (a new stable version moves it there)."""
    path = f"/v1/tenants/{tenant['id']}/subscriptions"
    current = next((s for s in operator.request("GET", path) if s["module"] == name), None)
    if current is None:
        accepted = operator.request(
            "POST",
            path,
            json={"module": name, **limits},
            headers={"Idempotency-Key": f"demo-sub-{tenant['id']}-{name}-{version}"},
        )
        follow(operator, tenant["id"], accepted["operation"]["id"])
        return
    if current["channel"] != "stable" and current["version"] != version:
        accepted = operator.request("PATCH", f"{path}/{name}", json={"channel": "stable"})
        if accepted.get("operation"):
            follow(operator, tenant["id"], accepted["operation"]["id"])
    deadline = time.monotonic() + 120
    while True:
        current = operator.request("GET", f"{path}/{name}")
        if current["status"] == "active" and current["version"] == version:
            return
        if time.monotonic() > deadline:
            raise TaasError(
                f"the bank's {name} subscription is {current['status']} on "
                f"{current['version']}, not active on {version}",
                hint=f"see its notice: taas subscriptions list {tenant['slug']}; "
                f"and its operations: taas tenants ops {tenant['slug']}",
            )
        time.sleep(0.5)


def open_platform(operator: ApiClient, tenant: dict[str, Any]) -> None:
    console.rule("6. a vendor's plugin: register, validate, approve")
    credentials = vendor_credentials(operator, VENDOR, "Demo Fintech Ltd")
    image = pushed_images(["example-plugin"])["example-plugin"]
    manifest = printed_manifest([str(PLUGIN)], image)
    name = manifest["name"]
    vendor = ApiClient(
        token=client_token(
            credentials["token_url"], credentials["client_id"], credentials["client_secret"]
        )
    )
    version = publish(operator, vendor, VENDOR, manifest, "contract, data use and pricing checked")

    console.rule("7. the bank subscribes and calls it through the gateway")
    ensure_subscribed(operator, tenant, name, version, rate_limit_rps=20, monthly_quota=100_000)
    _call(tenant, name, manifest["scopes"][0])


def tenant_spec(tenant: dict[str, Any]) -> TenantSpec:
    """The adapters' view of a tenant as the API returned it."""
    return TenantSpec(
        id=uuid.UUID(str(tenant["id"])),
        slug=str(tenant["slug"]),
        tier=str(tenant["tier"]),
        region=str(tenant["region"]),
        quotas=Quotas(**tenant["quotas"]),
    )


def bank_token(tenant: dict[str, Any]) -> Callable[[str | None], str]:
    """Tokens of the bank's systems client (from its credentials Secret), with scopes."""
    systems = Systems.from_settings(AppSettings())
    secret = systems.kubernetes.read_credentials(tenant_spec(tenant))
    token_url = f"{secret['issuer']}/protocol/openid-connect/token"

    def token(scope: str | None = None) -> str:
        return client_token(token_url, secret["client_id"], secret["client_secret"], scope)

    return token


def _call(tenant: dict[str, Any], module: str, scope: str) -> None:
    token_for = bank_token(tenant)
    gateway = (
        f"http://127.0.0.1:{StackSettings().gateway_port}/t/{tenant['slug']}/{module}/precheck"
    )
    application = {"amount": 60000, "term_months": 24, "monthly_income": 9000}
    refused = httpx.post(
        gateway,
        json=application,
        headers={"Authorization": f"Bearer {token_for(None)}"},
        timeout=10,
    )
    console.print(f"· without the {scope} scope: {refused.status_code} {refused.json()['detail']}")
    answer = httpx.post(
        gateway,
        json=application,
        headers={"Authorization": f"Bearer {token_for(scope)}"},
        timeout=10,
    )
    if answer.status_code != 200:
        raise TaasError(f"gateway answered {answer.status_code}: {answer.text[:300]}")
    served_by = answer.headers.get("x-served-by", "?")
    console.print(f"[green]✓[/] POST {gateway} → {answer.status_code}, answered by pod {served_by}")
    console.print_json(data=answer.json())
