"""A module's storage on the real platform: credentials minted per tenant and module.

The module below is written with the SDK and called through a real gateway. It gets
storage credentials for the calling tenant only, confined to its own prefix, and its
attempts to read another tenant's bucket or another module's objects fail at MinIO.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Path, Request
from minio.error import S3Error
from taas_sdk import CurrentCaller, ModuleSettings, TenantStorageDep, create_app, manifest
from taas_sdk.storage import S3TenantStorage

from catalog_support import VendorAccount, wait_version
from gateway_support import RouteMaker, Upstream
from module_support import serve_app
from support import spec_of_json, systems_token, unique_slug
from taas.integrations.systems import systems

SECRET = uuid.uuid4().hex


def storage_module(platform_url: str, secret: str = SECRET) -> FastAPI:
    app = create_app(
        name="vault",
        version="1.0.0",
        capability="other",
        summary="Keeps files in the tenant's bucket",
        data={"storage": ["read", "write"]},
        settings=ModuleSettings(signing_secret=secret, platform_url=platform_url),
    )

    @app.put("/files/{name}", include_in_schema=False)
    async def put(name: str, request: Request, storage: TenantStorageDep) -> dict[str, str]:
        storage.put(f"files/{name}", await request.body(), "text/plain")
        return {"stored": name}

    @app.get("/client", include_in_schema=False)
    def client(storage: TenantStorageDep) -> dict[str, int]:
        return {"id": id(storage)}

    @app.get("/sizes/{name}", include_in_schema=False)
    def size(name: str, storage: TenantStorageDep) -> dict[str, int]:
        return {"bytes": storage.size(f"files/{name}")}

    @app.get(
        "/files/{name}",
        responses={404: {"content": {"application/json": {"examples": {"default": {}}}}}},
    )
    def get(
        name: Annotated[str, Path(openapi_examples={"default": {"value": "never-uploaded"}})],
        storage: TenantStorageDep,
    ) -> dict[str, str]:
        return {"text": storage.get(f"files/{name}").decode()}

    @app.get("/escape", include_in_schema=False)
    def escape(
        other_bucket: str, caller: CurrentCaller, storage: TenantStorageDep
    ) -> dict[str, str]:
        """What a misbehaving module would try with the credentials it was given."""
        assert isinstance(storage, S3TenantStorage)
        client, own = storage.client, storage.credentials.bucket
        attempts: dict[str, Callable[[], Any]] = {
            "other_tenant_read": lambda: client.get_object(other_bucket, "kyc/id.txt").read(),
            "other_tenant_list": lambda: list(client.list_objects(other_bucket, recursive=True)),
            "other_tenant_write": lambda: client.put_object(
                other_bucket, "vault/x.txt", io.BytesIO(b"x"), 1
            ),
            "other_module_read": lambda: client.get_object(own, "ocr/secret.txt").read(),
            "bucket_root_list": lambda: list(client.list_objects(own, prefix="ocr/")),
        }
        results = {}
        for name, attempt in attempts.items():
            try:
                attempt()
                results[name] = "allowed"
            except S3Error as exc:
                results[name] = str(exc.code)
        results["tenant"] = caller.tenant
        return results

    return app


@pytest.fixture
def module_url(api_server: str) -> Iterator[str]:
    with serve_app(storage_module(api_server)) as url:
        yield url


def test_a_module_reaches_only_the_calling_tenants_prefix(
    gateway: Any,
    module_url: str,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    bank, other = make_tenant()["tenant"], make_tenant(tier="silo")["tenant"]
    root = systems().storage.s3
    other_bucket = spec_of_json(other).bucket
    root.put_object(other_bucket, "kyc/id.txt", io.BytesIO(b"other bank"), 10)
    root.put_object(spec_of_json(bank).bucket, "ocr/secret.txt", io.BytesIO(b"ocr"), 3)
    maker = RouteMaker(Upstream())
    try:
        route = maker(bank, upstream_url=module_url, storage=["read", "write"], secret=SECRET)
        token = systems_token(bank)
        headers = {"Authorization": f"Bearer {token}"}
        base = f"{gateway.url}{route.path}"
        stored = httpx.put(f"{base}/files/note.txt", content=b"for bank only", headers=headers)
        assert stored.status_code == 200, stored.text
        written = root.get_object(spec_of_json(bank).bucket, f"{route.module}/files/note.txt")
        assert written.read() == b"for bank only"
        assert httpx.get(f"{base}/files/note.txt", headers=headers).json() == {
            "text": "for bank only"
        }
        assert httpx.get(f"{base}/sizes/note.txt", headers=headers).json() == {"bytes": 13}
        assert httpx.get(f"{base}/sizes/none.txt", headers=headers).status_code == 404
        # One storage client per tenant while its credentials last: pooled connections.
        first, again = (httpx.get(f"{base}/client", headers=headers).json() for _ in range(2))
        assert first == again
        tried = httpx.get(f"{base}/escape", params={"other_bucket": other_bucket}, headers=headers)
        assert tried.status_code == 200, tried.text
        assert tried.json() == {
            "other_tenant_read": "AccessDenied",
            "other_tenant_list": "AccessDenied",
            "other_tenant_write": "AccessDenied",
            "other_module_read": "AccessDenied",
            "bucket_root_list": "AccessDenied",
            "tenant": bank["slug"],
        }
        # Without the gateway there is no grant, so no credentials at all.
        direct = httpx.get(f"{module_url}/files/note.txt")
        assert direct.status_code == 401
    finally:
        maker.remove_all()


def test_a_forged_or_missing_grant_gets_no_credentials(api_server: str) -> None:
    url = f"{api_server}/v1/storage/credentials"
    assert httpx.post(url).status_code == 401
    forged = httpx.post(url, headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"})
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")


def test_validation_gives_a_storage_plugin_an_empty_sandbox(
    api: Any,
    api_server: str,
    operator: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
) -> None:
    """The contract check of a plugin that declares storage runs with sandbox credentials."""
    account = make_vendor()
    vendor = account.slug
    app = storage_module(api_server, secret=account.credentials["signing_secret"])
    with serve_app(app) as url:
        body = manifest(app, url=url)
        body["name"] = unique_slug("vault")
        submitted = api.post(f"/v1/vendors/{vendor}/plugins", json=body, headers=operator)
        assert submitted.status_code == 202, submitted.text
        done = wait_version(api, operator, body["name"], "1.0.0", {"validated", "invalid"})
    checks = {c["name"]: c for c in done["validation"]["checks"]}
    assert done["status"] == "validated", [c for c in checks.values() if not c["ok"]]
    assert checks["contract GET /files/{name} [default]"]["detail"] == "answered 404 as declared"


def test_the_sdk_renews_credentials_the_platform_ended(
    gateway: Any, module_url: str, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    """Suspension and resumption (or unsubscribing and subscribing again) end the cached
    credentials early: the module's next call gets new ones instead of failing."""
    bank = make_tenant()["tenant"]
    maker = RouteMaker(Upstream())
    try:
        route = maker(bank, upstream_url=module_url, storage=["read", "write"], secret=SECRET)
        headers = {"Authorization": f"Bearer {systems_token(bank)}"}
        base = f"{gateway.url}{route.path}"
        assert httpx.put(f"{base}/files/a.txt", content=b"one", headers=headers).status_code == 200
        ended = systems().storage.cut_module_access(spec_of_json(bank), [route.module])
        assert ended  # the identity the cached credentials came from is gone
        again = httpx.put(f"{base}/files/b.txt", content=b"two", headers=headers)
        assert again.status_code == 200, again.text
        assert httpx.get(f"{base}/files/a.txt", headers=headers).json() == {"text": "one"}
    finally:
        maker.remove_all()
