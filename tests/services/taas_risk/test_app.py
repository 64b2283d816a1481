"""The risk module's API through the SDK test kit: tenants kept apart, 4xx problems, contract."""

from __future__ import annotations

from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from taas_risk import batch, dataset, examples
from taas_risk.app import create_risk_app
from taas_risk.durable import DurabilitySettings, DurableRiskStore
from taas_risk.scorecard import Scorecard
from taas_risk.state_format import BLACKLIST_KEY, HISTORY_KEY, RULES_KEY
from taas_risk.store import InMemoryRiskStore, ManualClock
from taas_sdk import manifest
from taas_sdk.testing import ModuleClient

from module_support import contract_check

PROBLEM = "application/problem+json"


def application(**changes: Any) -> dict[str, Any]:
    body = dict(examples.DECISION_REQUESTS["approve"]["value"])
    body.pop("application_id")
    return {**body, **changes}


def german_csv(rows: int) -> bytes:
    frame, _ = dataset.features_and_target(dataset.load_raw().head(rows))
    return frame.to_csv(index=False).encode()


def assert_problem(response: Any, status: int, detail: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert detail in body["detail"]
    return body


def test_calls_that_did_not_come_through_the_gateway_are_refused(client: ModuleClient) -> None:
    plain = TestClient(client.app)
    assert_problem(plain.post("/decisions", json=application()), 401, "not called through")
    assert plain.get("/healthz").status_code == 200


def test_a_decision(client: ModuleClient) -> None:
    response = client.post("/decisions", json=application(application_id="loan-9"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "approve"
    assert body["application_id"] == "loan-9"
    assert all(r["kind"] == "score" for r in body["reasons"])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "body.id_number"),
        (application(credit={**examples.SAFE_PROFILE, "purpose": "yacht"}), "body.credit.purpose"),
        (application(credit={**examples.SAFE_PROFILE, "age_years": 5}), "body.credit.age_years"),
        (application(id_number="1" * 40), "body.id_number"),
        (application(extra=1), "body.extra"),
        (application(ip="300.1.2.3"), "body.ip"),
        ([1, 2], "body"),
    ],
)
def test_malformed_applications_get_422_problems(
    client: ModuleClient, body: Any, where: str
) -> None:
    problem = assert_problem(client.post("/decisions", json=body), 422, "does not match")
    assert any(e["loc"].startswith(where) for e in problem["errors"])


def test_not_json_at_all_is_a_422_problem(client: ModuleClient) -> None:
    response = client.post(
        "/decisions", content=b"id_number=1", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "does not match")


def test_rules_and_blacklist_need_the_admin_scope(client: ModuleClient) -> None:
    loans = client.as_tenant(client.tenant, scopes=["risk.decide"])  # a loan system's token
    entry = {"kind": "phone", "value": "13700001111", "reason": "fraud ring"}
    for method, path, body in [
        ("PUT", "/rules", examples.RULES_REQUESTS["strict"]["value"]),
        ("GET", "/blacklist", None),
        ("POST", "/blacklist", entry),
        ("DELETE", "/blacklist/phone/13700001111", None),
    ]:
        refused = loans.request(method, path, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["missing_scopes"] == ["risk.admin"]
    assert loans.get("/rules").status_code == 200
    assert loans.post("/decisions", json=application()).status_code == 200
    assert client.get("/rules").json() == loans.get("/rules").json()  # nothing changed
    assert client.get("/blacklist").json()["count"] == 0


def test_rules_are_per_tenant(client: ModuleClient) -> None:
    other = client.as_tenant("bank-b")
    default = client.get("/rules").json()
    strict = examples.RULES_REQUESTS["strict"]["value"]
    response = client.put("/rules", json=strict)
    assert response.status_code == 200
    assert client.get("/rules").json() == strict
    assert other.get("/rules").json() == default
    middle = application(credit=examples.MIDDLE_PROFILE)
    assert client.post("/decisions", json=middle).json()["decision"] == "reject"
    assert other.post("/decisions", json=middle).json()["decision"] == "review"


def test_invalid_rules_are_refused_and_the_old_ones_kept(client: ModuleClient) -> None:
    before = client.get("/rules").json()
    invalid = examples.RULES_REQUESTS["invalid"]["value"]
    assert_problem(client.put("/rules", json=invalid), 422, "does not match")
    assert client.get("/rules").json() == before


def test_one_tenants_blacklist_never_affects_another(client: ModuleClient) -> None:
    other = client.as_tenant("bank-b")
    added = client.post(
        "/blacklist", json={"kind": "phone", "value": "+86 138 0013 8000", "reason": "fraud ring"}
    )
    assert added.status_code == 201
    assert added.json()["value"] == "13800138000"
    assert client.get("/blacklist").json()["count"] == 1
    assert other.get("/blacklist").json() == {"entries": [], "count": 0}
    mine = client.post("/decisions", json=application()).json()
    theirs = other.post("/decisions", json=application()).json()
    assert mine["decision"] == "reject"
    assert mine["reasons"][0]["code"] == "blacklist.phone"
    assert theirs["decision"] == "approve"
    assert other.delete("/blacklist/phone/13800138000").status_code == 204  # not theirs
    assert client.get("/blacklist").json()["count"] == 1
    assert client.delete("/blacklist/phone/+86%20138%200013%208000").status_code == 204
    assert client.get("/blacklist").json()["count"] == 0
    assert client.post("/decisions", json=application()).json()["decision"] == "approve"


def test_blacklist_listing_by_kind_and_bad_entries(client: ModuleClient) -> None:
    client.post("/blacklist", json={"kind": "device_id", "value": "DEV-1"})
    client.post("/blacklist", json={"kind": "id_number", "value": "11010519491231002x"})
    listed = client.get("/blacklist", params={"kind": "id_number"}).json()
    assert [e["value"] for e in listed["entries"]] == ["11010519491231002X"]
    assert_problem(client.get("/blacklist", params={"kind": "email"}), 422, "does not match")
    assert_problem(
        client.post("/blacklist", json={"kind": "email", "value": "x"}), 422, "does not match"
    )
    assert_problem(client.post("/blacklist", json={"kind": "phone", "value": ""}), 422, "")
    assert_problem(client.delete("/blacklist/email/x"), 422, "does not match")


def test_history_is_per_tenant(client: ModuleClient) -> None:
    other = client.as_tenant("bank-b")
    for _ in range(4):
        mine = client.post("/decisions", json=application()).json()
    assert "velocity.id_number" in [r["code"] for r in mine["reasons"]]
    theirs = other.post("/decisions", json=application()).json()
    assert [r["code"] for r in theirs["reasons"] if r["kind"] == "rule"] == []


def test_a_batch_reads_and_writes_the_tenants_storage(client: ModuleClient) -> None:
    client.storage().put("batches/june.csv", german_csv(100), "text/csv")
    response = client.post("/batches", json={"input_key": "batches/june.csv"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["rows"] == result["scored"] == 100
    assert result["output_key"] == "batches/june.scored.csv"
    output = client.storage().get("batches/june.scored.csv").decode()
    assert output.startswith("row,score,probability_bad,decision,reason_1")
    assert len(output.splitlines()) == 101
    other = client.as_tenant("bank-b")
    assert_problem(other.post("/batches", json={"input_key": "batches/june.csv"}), 404, "no object")


@pytest.mark.parametrize(
    ("data", "status", "detail"),
    [
        (b"", 422, "the file is empty"),
        (b"customer,amount\nx,1\n", 422, "lacks the columns"),
        (b"\xff\xfe\x00\x81", 422, "not UTF-8"),
    ],
)
def test_unusable_batch_files_are_4xx_problems(
    client: ModuleClient, data: bytes, status: int, detail: str
) -> None:
    client.storage().put("in.csv", data)
    body = assert_problem(client.post("/batches", json={"input_key": "in.csv"}), status, detail)
    assert "hint" in body or status == 422
    assert client.storage().list() == ["in.csv"]  # nothing written


def test_huge_batch_files_are_413_before_they_are_read(
    store: InMemoryRiskStore, card: Scorecard, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_risk_app(store=store, scorecard=card, limits=batch.BatchLimits(max_bytes=2000))
    client = ModuleClient(app, tenant="bank-a")
    storage = client.storage()
    storage.put("big.csv", german_csv(50))
    monkeypatch.setattr(storage, "get", lambda key: pytest.fail(f"{key} was read"))
    body = assert_problem(client.post("/batches", json={"input_key": "big.csv"}), 413, "limit")
    assert body["hint"] == "split it into smaller files"


def test_batch_requests_are_checked(client: ModuleClient) -> None:
    assert_problem(client.post("/batches", json={"input_key": ""}), 422, "does not match")
    same = {"input_key": "a.csv", "output_key": "a.csv"}
    assert_problem(client.post("/batches", json=same), 422, "never overwritten")
    assert_problem(client.post("/batches", json={"input_key": "../x.csv"}), 422, "invalid object")


def restarted(client: ModuleClient, card: Scorecard, clock: ManualClock) -> ModuleClient:
    """A new app instance (a restarted process) over the same tenants' storages."""
    store = DurableRiskStore(clock=clock, settings=DurabilitySettings(snapshot_every_s=0))
    app = create_risk_app(store=store, scorecard=card)
    return ModuleClient(app, tenant=client.tenant, storages=client.storages)


def test_rules_and_blacklist_survive_a_restart_and_stay_per_tenant(
    durable: DurableRiskStore, card: Scorecard, clock: ManualClock
) -> None:
    client = ModuleClient(create_risk_app(store=durable, scorecard=card), tenant="bank-a")
    strict = examples.RULES_REQUESTS["strict"]["value"]
    assert client.put("/rules", json=strict).status_code == 200
    added = client.post("/blacklist", json={"kind": "phone", "value": "13800138000"})
    assert added.status_code == 201
    again = restarted(client, card, clock)
    assert again.get("/rules").json() == strict
    assert [e["value"] for e in again.get("/blacklist").json()["entries"]] == ["13800138000"]
    mine = again.post("/decisions", json=application()).json()
    assert mine["decision"] == "reject"
    assert mine["reasons"][0]["code"] == "blacklist.phone"
    other = again.as_tenant("bank-b")
    assert other.post("/decisions", json=application()).json()["decision"] == "approve"
    assert other.get("/rules").json() != strict
    assert set(again.storage(other.tenant_id).list("state/")) <= {HISTORY_KEY}
    assert {RULES_KEY, BLACKLIST_KEY} <= set(again.storage().list("state/"))


def test_velocity_counts_carry_over_a_restart(
    durable: DurableRiskStore, card: Scorecard, clock: ManualClock
) -> None:
    client = ModuleClient(create_risk_app(store=durable, scorecard=card), tenant="bank-a")
    for _ in range(3):
        first = client.post("/decisions", json=application()).json()
        clock.advance(60)
    assert "velocity.id_number" not in [r["code"] for r in first["reasons"]]
    fourth = restarted(client, card, clock).post("/decisions", json=application()).json()
    assert "velocity.id_number" in [r["code"] for r in fourth["reasons"]]
    assert "4 applications" in next(r["message"] for r in fourth["reasons"] if r["kind"] == "rule")


@pytest.mark.parametrize("key", [RULES_KEY, BLACKLIST_KEY, HISTORY_KEY])
def test_corrupt_state_is_a_503_problem_and_nothing_is_overwritten(
    durable: DurableRiskStore, card: Scorecard, key: str
) -> None:
    client = ModuleClient(create_risk_app(store=durable, scorecard=card), tenant="bank-a")
    client.storage().put(key, b"\x00 not what the module wrote")
    before = dict(client.storage().objects)
    calls = [
        client.post("/decisions", json=application()),
        client.get("/rules"),
        client.put("/rules", json=examples.RULES_REQUESTS["strict"]["value"]),
        client.get("/blacklist"),
        client.post("/blacklist", json={"kind": "phone", "value": "13800138000"}),
        client.delete("/blacklist/phone/13800138000"),
        client.post("/batches", json={"input_key": "batches/none.csv"}),
    ]
    for response in calls:
        body = assert_problem(response, 503, key)
        assert f"risk/{key}" in body["hint"]
        assert "retry-after" not in response.headers
    assert client.storage().objects == before
    other = client.as_tenant("bank-b")
    assert other.post("/decisions", json=application()).status_code == 200


def test_a_failing_storage_is_a_retryable_503(durable: DurableRiskStore, card: Scorecard) -> None:
    client = ModuleClient(create_risk_app(store=durable, scorecard=card), tenant="bank-a")

    def refuse(key: str) -> bytes:
        raise ConnectionError("storage is down")

    client.storage().get = refuse  # type: ignore[method-assign]
    response = client.get("/rules")
    assert_problem(response, 503, "did not answer")
    assert response.headers["retry-after"] == "5"


def test_the_openapi_document_is_valid_and_every_example_keeps_its_contract(
    client: ModuleClient,
) -> None:
    checks = contract_check(cast(FastAPI, client.app))
    assert "openapi.valid" in checks
    assert {
        "contract POST /decisions [approve]",
        "contract POST /decisions [invalid]",
        "contract PUT /rules [invalid]",
        "contract POST /blacklist [invalid]",
        "contract POST /batches [missing]",
        "contract DELETE /blacklist/{kind}/{value} [default]",
    } <= checks


def test_the_manifest_says_what_the_module_touches(client: ModuleClient) -> None:
    document = manifest(cast(FastAPI, client.app), url="http://127.0.0.1:58301")
    assert document["name"] == "risk"
    assert document["capability"] == "risk"
    assert document["scopes"] == ["risk.decide"]
    assert document["operation_scopes"] == ["risk.admin"]
    assert document["data"]["storage"] == ["read", "write"]
    assert set(document["data"]["personal_data"]) == {"identity", "contact", "financial", "device"}
