"""A bank's API reference from the gateway: its subscribed modules only, to its tokens only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from psycopg.types.json import Jsonb

from gateway_support import GatewayProcess, RouteMaker, sql
from support import systems_token
from taas.gateway.documents import ModuleDocument, tenant_document

MakeTenant = Callable[..., dict[str, Any]]


def module_openapi(path: str, schema: str = "ScoreIn") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "vendor's own title", "version": "1"},
        "servers": [{"url": "http://vendor-internal:8080"}],
        "paths": {
            path: {
                "post": {
                    "operationId": "score",
                    "security": [{"vendorKey": []}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{schema}"}
                            }
                        }
                    },
                    "responses": {"200": {"description": "A score"}},
                }
            }
        },
        "components": {
            "schemas": {schema: {"type": "object"}},
            "securitySchemes": {"vendorKey": {"type": "apiKey", "in": "header", "name": "k"}},
        },
    }


def test_modules_are_placed_under_the_bank_and_kept_apart() -> None:
    document = tenant_document(
        "rural-7",
        [
            ModuleDocument("risk", "1.2.0", module_openapi("/score"), "Risk"),
            ModuleDocument("ocr", "2.0.0", module_openapi("/read"), "OCR"),
        ],
    )
    assert set(document["paths"]) == {"/t/rural-7/risk/score", "/t/rural-7/ocr/read"}
    post = document["paths"]["/t/rural-7/risk/score"]["post"]
    assert post["operationId"] == "risk.score"
    assert post["tags"] == ["risk"]
    assert "security" not in post  # the document's one scheme applies: the bank's token
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/risk.ScoreIn"
    assert set(document["components"]["schemas"]) == {"risk.ScoreIn", "ocr.ScoreIn"}
    assert set(document["components"]["securitySchemes"]) == {"bankToken"}
    assert document["security"] == [{"bankToken": []}]
    assert "servers" not in document  # never the vendor's internal address
    assert "vendor-internal" not in json.dumps(document)
    assert [tag["name"] for tag in document["tags"]] == ["ocr", "risk"]
    assert tenant_document("rural-7", [])["paths"] == {}


def test_a_bank_reads_the_reference_of_its_own_modules_only(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    bank, other = make_tenant()["tenant"], make_tenant()["tenant"]
    mine = routes(bank, openapi=module_openapi("/score"))
    theirs = routes(other, openapi=module_openapi("/their-secret-path"))
    unsubscribed = routes(bank, openapi=module_openapi("/not-mine"), subscribe=False)
    gateway.sync()
    auth = {"Authorization": f"Bearer {systems_token(bank)}"}

    response = httpx.get(f"{gateway.url}/t/{bank['slug']}/openapi.json", headers=auth, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert set(document["paths"]) == {f"/t/{bank['slug']}/{mine.module}/score"}
    text = response.text
    for secret in (other["slug"], theirs.module, unsubscribed.module, "their-secret-path"):
        assert secret not in text

    # Another bank's reference: the same answer as for a bank that does not exist.
    foreign = httpx.get(f"{gateway.url}/t/{other['slug']}/openapi.json", headers=auth, timeout=10)
    missing_slug = f"nobank-{uuid.uuid4().hex[:8]}"
    missing = httpx.get(f"{gateway.url}/t/{missing_slug}/openapi.json", headers=auth, timeout=10)
    assert foreign.status_code == missing.status_code == 403
    assert foreign.headers["content-type"] == missing.headers["content-type"]

    def shape(response: httpx.Response, slug: str) -> dict[str, Any]:
        body = dict(response.json())
        body.pop("request_id")
        body["detail"] = body["detail"].replace(slug, "<bank>")
        return body

    assert shape(foreign, other["slug"]) == shape(missing, missing_slug)
    assert other["id"] not in foreign.text
    assert httpx.get(f"{gateway.url}/t/{bank['slug']}/openapi.json", timeout=10).status_code == 401
    posted = httpx.post(f"{gateway.url}/t/{bank['slug']}/openapi.json", headers=auth, timeout=10)
    assert posted.status_code == 405

    # The subscription moves to another version: the reference follows it.
    version_id = uuid.uuid4()
    sql(
        "INSERT INTO plugin_versions (id, vendor_id, name, version, capability, status,"
        " manifest, validation, submitted_by, submitted_by_subject)"
        " VALUES (%s, %s, %s, '2.0.0', 'other', 'published', %s, '{}', 'test', 'test')",
        version_id,
        mine.vendor_id,
        mine.module,
        Jsonb({"scopes": [], "openapi": module_openapi("/score-v2")}),
    )
    try:
        sql(
            "UPDATE subscriptions SET plugin_version_id = %s WHERE id = %s",
            version_id,
            mine.subscription_id,
        )
        gateway.sync()
        moved = httpx.get(f"{gateway.url}/t/{bank['slug']}/openapi.json", headers=auth, timeout=10)
        assert set(moved.json()["paths"]) == {f"/t/{bank['slug']}/{mine.module}/score-v2"}
        assert "2.0.0" in moved.json()["info"]["description"]
    finally:
        sql(
            "UPDATE subscriptions SET plugin_version_id = %s WHERE id = %s",
            mine.version_id,
            mine.subscription_id,
        )
        sql("DELETE FROM plugin_versions WHERE id = %s", version_id)
