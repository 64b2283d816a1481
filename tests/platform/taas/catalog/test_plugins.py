"""Vendors submit plugin versions; the platform validates them; operators review them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from catalog_support import VendorAccount, revoke, wait_version
from plugin_app import PluginBehaviour, PluginServer, manifest
from support import unique_slug


def _submit(api: Any, vendor: VendorAccount, body: dict[str, Any], **headers: str) -> Any:
    return api.post(
        f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers() | headers
    )


def test_vendor_submits_platform_validates_operator_publishes(
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = unique_slug("p")
    submitted = _submit(api, vendor, manifest(name, "1.0.0", plugin.url, ["loans.score"]))
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "submitted"

    validated = wait_version(api, vendor.headers(), name, "1.0.0", {"validated", "invalid"})
    report = validated["validation"]
    assert validated["status"] == "validated", report
    names = {check["name"] for check in report["checks"]}
    assert {"manifest.schema", "plugin_api.compatible", "openapi.valid", "health.probe"} <= names
    assert "contract POST /score [small-loan]" in names
    assert "contract POST /score [negative]" in names
    # The contract calls came signed with the vendor's key, as gateway calls will.
    assert any(h.get("x-taas-tenant") == "taas-contract-check" for h in plugin.behaviour.seen)

    # Vendors never review; the operator approves and publishes in one call.
    denied = api.post(
        f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=vendor.headers()
    )
    assert denied.status_code == 403
    approved = api.post(
        f"/v1/plugins/{name}/versions/1.0.0/approve",
        json={"reason": "contract and data use reviewed"},
        headers=operator,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    assert approved.json()["reviewed_by"].endswith("test-operator")

    catalog = api.get("/v1/catalog", headers=operator).json()
    entry = next(m for m in catalog if m["name"] == name)
    assert entry["vendor"] == vendor.slug
    assert entry["channels"] == {"stable": "1.0.0"}
    assert entry["versions"][0]["scopes"] == ["loans.score"]

    # Revocation is final (and needs a second operator).
    revoked = revoke(api, operator, operator2, name, "1.0.0", "data leak reported")
    assert revoked["result"]["plugin_version"]["status"] == "revoked"
    again = api.post(f"/v1/plugins/{name}/versions/1.0.0/publish", headers=operator)
    assert again.status_code == 409
    assert again.json()["current_status"] == "revoked"


def test_the_submitter_can_never_approve_its_own_version(
    api: Any,
    operator: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    name = unique_slug("p")
    # An operator submits on the vendor's behalf, then tries to approve it.
    submitted = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(name, "1.0.0", plugin.url),
        headers=operator,
    )
    assert submitted.status_code == 202, submitted.text
    wait_version(api, operator, name, "1.0.0", {"validated"})
    own = api.post(f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=operator)
    assert own.status_code == 403
    assert "four eyes" in own.json()["detail"]
    rejected = api.post(
        f"/v1/plugins/{name}/versions/1.0.0/reject", json={"reason": "no"}, headers=operator
    )
    assert rejected.status_code == 403
    assert (
        api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=operator).json()["status"]
        == "validated"
    )


def test_an_invalid_manifest_is_refused_with_every_problem_named(
    api: Any, make_vendor: Callable[[], VendorAccount]
) -> None:
    vendor = make_vendor()
    body = manifest(unique_slug("p"), "one", "http://127.0.0.1:9")
    body["capability"] = "astrology"
    body["scopes"] = ["Not A Scope"]
    response = _submit(api, vendor, body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    locations = {error["loc"] for error in problem["errors"]}
    assert {"version", "capability", "scopes.0"} <= locations
    assert "manifest-schema" in problem["hint"]
    schema = api.get("/v1/plugins/manifest-schema").json()
    assert schema["title"] == "TaaS plugin manifest"
    assert "upstream" in schema["required"]


def test_a_failing_contract_check_is_reported_clearly(
    api: Any, make_vendor: Callable[[], VendorAccount]
) -> None:
    vendor = make_vendor()
    name = unique_slug("p")
    with PluginServer(PluginBehaviour(broken_contract=True)) as broken:
        _submit(api, vendor, manifest(name, "1.0.0", broken.url))
        invalid = wait_version(api, vendor.headers(), name, "1.0.0", {"validated", "invalid"})
    assert invalid["status"] == "invalid"
    failed = {c["name"]: c["detail"] for c in invalid["validation"]["checks"] if not c["ok"]}
    assert list(failed) == ["contract POST /score [small-loan]"]
    assert "does not match its schema" in failed["contract POST /score [small-loan]"]
    assert "score" in failed["contract POST /score [small-loan]"]
    assert invalid["status_reason"] == "failed: contract POST /score [small-loan]"
    # An invalid version can never be approved.
    response = api.post(f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers={})
    assert response.status_code == 401


def test_an_unreachable_plugin_and_an_incompatible_api_range_fail_validation(
    api: Any, make_vendor: Callable[[], VendorAccount]
) -> None:
    vendor = make_vendor()
    name = unique_slug("p")
    body = manifest(name, "2.0.0", "http://127.0.0.1:9")  # nothing listens on port 9
    body["plugin_api"] = ">=2.0"
    _submit(api, vendor, body)
    invalid = wait_version(api, vendor.headers(), name, "2.0.0", {"validated", "invalid"})
    checks = {c["name"]: c for c in invalid["validation"]["checks"]}
    assert checks["plugin_api.compatible"]["ok"] is False
    assert "1.0" in checks["plugin_api.compatible"]["detail"]
    assert checks["health.probe"]["ok"] is False


def test_versions_are_immutable_and_names_belong_to_one_vendor(
    api: Any, make_vendor: Callable[[], VendorAccount], plugin: PluginServer
) -> None:
    first, second = make_vendor(), make_vendor()
    name = unique_slug("p")
    key = str(uuid.uuid4())
    body = manifest(name, "1.0.0", plugin.url)
    one = _submit(api, first, body, **{"Idempotency-Key": key})
    replay = _submit(api, first, body, **{"Idempotency-Key": key})
    assert one.status_code == replay.status_code == 202
    assert one.json()["id"] == replay.json()["id"]
    assert _submit(api, first, body).status_code == 409  # same version, no key
    taken = _submit(api, second, manifest(name, "9.0.0", plugin.url))
    assert taken.status_code == 409
    assert "another vendor" in taken.json()["detail"]


def test_a_vendor_sees_only_its_own_plugins_and_usage(
    api: Any,
    auditor: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    mine, theirs = make_vendor(), make_vendor()
    name = unique_slug("p")
    _submit(api, theirs, manifest(name, "1.0.0", plugin.url))
    headers = mine.headers()
    assert api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=headers).status_code == 404
    assert all(p["name"] != name for p in api.get("/v1/plugins", headers=headers).json())
    assert api.get(f"/v1/vendors/{theirs.slug}", headers=headers).status_code == 404
    assert api.get(f"/v1/vendors/{theirs.slug}/usage", headers=headers).status_code == 404
    assert api.get(f"/v1/vendors/{mine.slug}/usage", headers=headers).status_code == 200
    assert api.get("/v1/vendors", headers=headers).status_code == 403
    # Auditors read everything and change nothing.
    assert api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=auditor).status_code == 200
    assert (
        api.post(
            "/v1/vendors",
            json={"slug": unique_slug("v"), "display_name": "x", "contact_email": "a@b.cn"},
            headers=auditor,
        ).status_code
        == 403
    )


def test_vendor_registration_is_idempotent(api: Any, operator: dict[str, str]) -> None:
    slug = unique_slug("v")
    body = {"slug": slug, "display_name": "Acme Risk", "contact_email": "ops@acme.example"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/v1/vendors", json=body, headers=operator | key)
    second = api.post("/v1/vendors", json=body, headers=operator | key)
    assert first.status_code == second.status_code == 201
    assert first.json()["vendor"]["id"] == second.json()["vendor"]["id"]
    assert first.json()["credentials"] == second.json()["credentials"]
    duplicate = api.post("/v1/vendors", json=body, headers=operator)
    assert duplicate.status_code == 409


def test_a_validation_whose_worker_died_is_picked_up_again(
    api: Any,
    operator: dict[str, str],
    control_plane: Any,
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    name = unique_slug("p")
    _submit(api, vendor, manifest(name, "1.0.0", plugin.url))
    wait_version(api, operator, name, "1.0.0", {"validated"})
    # As a worker killed mid-validation leaves it: validating, no report, untouched for long.
    with psycopg.connect(control_plane.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE plugin_versions SET status = 'validating', validation = '{}',"
            " updated_at = now() - interval '1 hour' WHERE name = %s",
            (name,),
        )
    again = wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})
    assert again["status"] == "validated"
    assert again["validation"]["checks"]
