"""Vendors submit plugin versions; the platform validates them; operators review them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from catalog_support import VendorAccount, revoke, wait_version
from manifest_mutations import mutated_manifests
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
    # Unsigned and forged requests were refused (the health probe is open, not probed).
    assert {
        "signature.unsigned POST /score",
        "signature.wrong_key POST /score",
        "signature.tampered POST /score",
    } <= names
    assert not any("/healthz" in n for n in names if n.startswith("signature."))
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
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
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
    secret = vendor.credentials["signing_secret"]
    with PluginServer(PluginBehaviour(signing_secret=secret, broken_contract=True)) as broken:
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


def _as_if_its_worker_died(control_plane: Any, name: str, interrupted: int) -> None:
    """Put the validation of ``name`` back as a killed worker leaves it (after its checks
    were interrupted ``interrupted`` times before)."""
    with psycopg.connect(control_plane.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE plugin_versions SET status = 'validating', validation = '{}' WHERE name = %s",
            (name,),
        )
        (operation_id,) = conn.execute(
            "SELECT o.id FROM operations o JOIN plugin_versions v"
            " ON o.lane = 'plugin-version:' || v.id::text WHERE v.name = %s",
            (name,),
        ).fetchone() or (None,)
        assert operation_id is not None
        conn.execute(
            "UPDATE operation_steps SET status = 'running', finished_at = NULL,"
            " attempts = %s, detail = %s WHERE operation_id = %s",
            (interrupted + 1, Jsonb({"interrupted": interrupted}), operation_id),
        )
        conn.execute(
            "UPDATE operations SET status = 'running', finished_at = NULL,"
            " updated_at = now() - interval '1 hour' WHERE id = %s",
            (operation_id,),
        )


def test_a_validation_whose_worker_died_is_picked_up_again(
    api: Any,
    operator: dict[str, str],
    control_plane: Any,
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = unique_slug("p")
    _submit(api, vendor, manifest(name, "1.0.0", plugin.url))
    wait_version(api, operator, name, "1.0.0", {"validated"})
    # As a worker killed mid-validation leaves it: validating, no report, its operation
    # running the checks and untouched for long. The engine's relay hands it on.
    _as_if_its_worker_died(control_plane, name, interrupted=0)
    again = wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})
    assert again["status"] == "validated"
    assert again["validation"]["checks"]


def test_a_manifest_whose_openapi_lacks_its_version_ends_invalid_with_a_report(
    api: Any, make_vendor: Callable[[], VendorAccount], plugin: PluginServer
) -> None:
    # Issue 10: this manifest crashed the validator and left the version validating.
    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = unique_slug("p")
    body = manifest(name, "1.0.0", plugin.url)
    del body["openapi"]["openapi"]
    assert _submit(api, vendor, body).status_code == 202
    invalid = wait_version(api, vendor.headers(), name, "1.0.0", {"validated", "invalid"})
    assert invalid["status"] == "invalid"
    report = invalid["validation"]
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["manifest.schema"]["ok"] is True
    assert checks["openapi.valid"]["ok"] is False
    assert checks["openapi.valid"]["detail"]
    assert "submit a new version" in report["hint"]
    assert invalid["status_reason"] == "failed: openapi.valid"


def test_a_validation_that_never_finishes_is_failed_after_bounded_attempts(
    api: Any,
    operator: dict[str, str],
    control_plane: Any,
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = unique_slug("p")
    _submit(api, vendor, manifest(name, "1.0.0", plugin.url))
    wait_version(api, operator, name, "1.0.0", {"validated"})
    # As a poison manifest leaves it after killing its worker on every attempt but this
    # one: validating, its checks interrupted twice, untouched for long. The relay hands it
    # on; finding the checks interrupted a third time ends it invalid, with a report.
    _as_if_its_worker_died(control_plane, name, interrupted=2)
    failed = wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})
    assert failed["status"] == "invalid"
    assert failed["status_reason"] == "failed: validation.attempts"
    (check,) = failed["validation"]["checks"]
    assert "started 3 times and never finished" in check["detail"]
    assert failed["validation"]["hint"]


def test_a_plugin_that_ignores_the_gateway_signature_is_invalid(
    api: Any, make_vendor: Callable[[], VendorAccount]
) -> None:
    vendor = make_vendor()
    name = unique_slug("p")
    trusting = PluginBehaviour(
        signing_secret=vendor.credentials["signing_secret"], ignore_signatures=True
    )
    with PluginServer(trusting) as server:
        _submit(api, vendor, manifest(name, "1.0.0", server.url))
        invalid = wait_version(api, vendor.headers(), name, "1.0.0", {"validated", "invalid"})
    assert invalid["status"] == "invalid"
    failed = {c["name"]: c["detail"] for c in invalid["validation"]["checks"] if not c["ok"]}
    assert set(failed) == {
        "signature.unsigned POST /score",
        "signature.wrong_key POST /score",
        "signature.tampered POST /score",
    }
    assert (
        "answered 200 to a request without X-TaaS-Signature"
        in failed["signature.unsigned POST /score"]
    )
    assert "trust only signed headers" in failed["signature.tampered POST /score"]
    # Its genuine contract calls passed: only the signature probes failed it.
    assert all(
        c["ok"] for c in invalid["validation"]["checks"] if c["name"].startswith("contract ")
    )


@pytest.fixture
def signing_plugin(
    make_vendor: Callable[[], VendorAccount], plugin: PluginServer
) -> tuple[VendorAccount, PluginServer]:
    """A vendor and its running plugin, which checks the vendor's signatures."""
    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    return vendor, plugin


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    # one vendor and plugin (function-scoped fixtures) serve every example: as intended
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_manifests_through_the_api_never_stay_validating(
    api: Any, signing_plugin: tuple[VendorAccount, PluginServer], data: st.DataObject
) -> None:
    vendor, plugin = signing_plugin
    body = data.draw(mutated_manifests(manifest(unique_slug("p"), "1.0.0", plugin.url)))
    response = _submit(api, vendor, body)
    assert response.status_code in (202, 413, 422), response.text
    if response.status_code != 202:
        assert response.headers["content-type"].startswith("application/problem+json")
        return
    row = response.json()
    settled = wait_version(
        api, vendor.headers(), row["name"], row["version"], {"validated", "invalid"}
    )
    assert settled["validation"]["checks"]
    if settled["status"] == "invalid":
        assert settled["validation"]["hint"]
        assert settled["status_reason"].startswith("failed: ")
