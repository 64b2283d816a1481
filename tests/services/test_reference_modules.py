"""The three reference modules on the real platform, registered like any vendor's plugin.

Each module app is served as it ships, described by the manifest the SDK generates from
its own OpenAPI document, submitted through the vendor API, validated by the platform's
contract check (every example of its API called), approved by an operator and subscribed
by a bank, whose systems then call it through the real gateway: a loan decision, a
customer file segmented from a presigned upload into the bank's bucket, an ID card read.
A second bank's blacklist, jobs and files stay its own.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from taas_marketing.app import create_marketing_app
from taas_marketing.generator import generate
from taas_ocr.app import create_ocr_app
from taas_ocr.generator import id_card
from taas_risk import examples as risk_examples
from taas_risk.app import create_risk_app
from taas_sdk import ModuleSettings, manifest

from catalog_support import VendorAccount, subscribe, wait_version
from conftest import SPANS
from module_support import serve_app
from support import spec_of_json, systems_token, unique_slug, wait_for
from taas.integrations.systems import systems

JOB_TIMEOUT_S = 120.0
Factory = Callable[[ModuleSettings], FastAPI]
FACTORIES: dict[str, Factory] = {
    "risk": lambda settings: create_risk_app(settings=settings),
    "marketing": create_marketing_app,
    "ocr": lambda settings: create_ocr_app(settings=settings),
}


@pytest.fixture
def vendor(make_vendor: Callable[[], VendorAccount]) -> VendorAccount:
    return make_vendor()


@pytest.fixture
def modules(api_server: str, vendor: VendorAccount) -> Iterator[dict[str, tuple[FastAPI, str]]]:
    """The three module apps served with the vendor's signing secret: name → (app, url)."""
    settings = ModuleSettings(
        signing_secret=vendor.credentials["signing_secret"],
        platform_url=api_server,
        otel_exporter="jsonl",
        otel_file=str(SPANS),
    )
    with contextlib.ExitStack() as stack:
        served = {}
        for name, factory in FACTORIES.items():
            app = factory(settings)
            served[name] = (app, stack.enter_context(serve_app(app)))
        yield served


def _publish(
    api: Any, operator: dict[str, str], vendor: VendorAccount, app: FastAPI, url: str
) -> dict[str, Any]:
    body = manifest(app, url=url)
    body["name"] = unique_slug(body["name"])  # names are platform-wide; tests run many times
    submitted = api.post(f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers())
    assert submitted.status_code == 202, submitted.text
    done = wait_version(api, operator, body["name"], body["version"], {"validated", "invalid"})
    failed = [c for c in done["validation"]["checks"] if not c["ok"]]
    assert done["status"] == "validated", failed
    assert sum(c["name"].startswith("contract ") for c in done["validation"]["checks"]) >= 3
    approved = api.post(
        f"/v1/plugins/{body['name']}/versions/{body['version']}/approve",
        json={"reason": "reference module"},
        headers=operator,
    )
    assert approved.status_code == 200, approved.text
    return body


def body_scopes(manifest: dict[str, Any]) -> list[str]:
    """Every scope a subscribed bank may ask for to use the plugin."""
    return [*manifest["scopes"], *manifest.get("operation_scopes", [])]


def _bank_client(gateway: Any, tenant: dict[str, Any], scopes: list[str]) -> httpx.Client:
    token = systems_token(tenant, " ".join(scopes))
    return httpx.Client(
        base_url=f"{gateway.url}/t/{tenant['slug']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _decide(bank: httpx.Client, module: str) -> dict[str, Any]:
    application = risk_examples.DECISION_REQUESTS["approve"]["value"]
    # The route may take a moment to reach the gateway after the subscription settles.
    answer: httpx.Response = wait_for(
        lambda: (r := bank.post(f"/{module}/decisions", json=application)).status_code != 403 and r,
        timeout=5,
        what="the risk route",
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _segment(bank: httpx.Client, module: str) -> dict[str, Any]:
    ticket = bank.post(f"/{module}/uploads", json={})
    assert ticket.status_code == 201, ticket.text
    put = httpx.put(ticket.json()["url"], content=generate(1_500, seed=5).to_csv(), timeout=60)
    assert put.status_code == 200, put.text  # straight into the bank's bucket
    job = bank.post(f"/{module}/jobs", json={"upload_key": ticket.json()["key"], "segments": 4})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while (state := bank.get(f"/{module}/jobs/{job.json()['id']}").json())["state"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["state"] == "succeeded", state
    return dict(state)


def _assert_trace_continues_into_the_module(
    bank: httpx.Client, module: str, tenant: dict[str, Any]
) -> None:
    """The bank's trace goes on in the gateway's span, then in the module's own span."""
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    answer = bank.get(
        f"/{module}/rules", headers={"traceparent": f"00-{trace_id}-{caller_span}-01"}
    )
    assert answer.status_code == 200, answer.text

    def spans() -> tuple[dict[str, Any], dict[str, Any]] | None:
        lines = SPANS.read_text().splitlines() if SPANS.exists() else []
        found = [json.loads(line) for line in lines if trace_id in line]
        gateway = [s for s in found if s["service"] == "taas-gateway"]
        # In this process the module shares the API's tracer provider (one per process).
        own = [s for s in found if s["name"] == "risk GET /rules"]
        return (gateway[0], own[0]) if gateway and own else None

    gateway, own = wait_for(spans, timeout=10, what="the trace's spans")
    assert gateway["parent_id"] == caller_span
    assert own["parent_id"] == gateway["span_id"]
    assert own["attributes"]["tenant.id"] == tenant["id"]
    assert own["attributes"]["module"] == "risk"
    assert own["attributes"]["plugin.version"] == "1.0.0"
    assert own["attributes"]["http.response.status_code"] == 200


def test_reference_modules_registered_subscribed_and_called_through_the_gateway(
    api: Any,
    operator: dict[str, str],
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    vendor: VendorAccount,
    modules: dict[str, tuple[FastAPI, str]],
) -> None:
    published = {
        name: _publish(api, operator, vendor, app, url) for name, (app, url) in modules.items()
    }
    risk, marketing, ocr = (published[n]["name"] for n in ("risk", "marketing", "ocr"))
    scopes = sorted({s for body in published.values() for s in body_scopes(body)})
    bank = make_tenant(tier="pool")["tenant"]
    other = make_tenant(tier="pool")["tenant"]
    for module in (risk, marketing, ocr):
        subscribe(api, operator, bank, module)
    subscribe(api, operator, other, risk)
    subscribe(api, operator, other, marketing)

    their_scopes = [s for n in ("risk", "marketing") for s in body_scopes(published[n])]
    with (
        _bank_client(gateway, bank, scopes) as mine,
        _bank_client(gateway, bank, published["risk"]["scopes"]) as loans,
        _bank_client(gateway, other, their_scopes) as theirs,
    ):
        # Risk: a decision with reasons; the bank's blacklist turns it into a reject for
        # this bank only.
        decision = _decide(mine, risk)
        assert decision["decision"] == "approve"
        _assert_trace_continues_into_the_module(mine, risk, bank)
        assert any(r["kind"] == "score" for r in decision["reasons"])
        phone = risk_examples.DECISION_REQUESTS["approve"]["value"]["phone"]
        entry = {"kind": "phone", "value": phone, "reason": "fraud ring"}
        # A token with the decision scope only (a loan system's) cannot change the list;
        # one that also asked for the admin scope, which the subscription created, can.
        refused = loans.post(f"/{risk}/blacklist", json=entry)
        assert refused.status_code == 403, refused.text
        assert refused.json()["missing_scopes"] == ["risk.admin"]
        listed = mine.post(f"/{risk}/blacklist", json=entry)
        assert listed.status_code == 201, listed.text
        assert _decide(mine, risk)["decision"] == "reject"
        assert _decide(theirs, risk)["decision"] == "approve"
        assert theirs.get(f"/{risk}/blacklist").json()["count"] == 0

        # Marketing: presigned upload, job with progress, results in the bank's bucket.
        job = _segment(mine, marketing)
        assert len(job["result"]["segments"]) == 4
        bucket = spec_of_json(bank).bucket
        stored = {
            o.object_name
            for o in systems().storage.s3.list_objects(
                bucket, prefix=f"{marketing}/", recursive=True
            )
        }
        assert set(job["result"]["outputs"].values()) <= {
            name.removeprefix(f"{marketing}/") for name in stored
        }
        assert theirs.get(f"/{marketing}/jobs/{job['id']}").status_code == 404
        assert theirs.get(f"/{marketing}/jobs").json() == {"jobs": []}

        # OCR: an ID card read through the gateway; the other bank is not subscribed.
        card = id_card(seed=3)
        read = mine.post(
            f"/{ocr}/id-cards",
            content=card.encoded("PNG"),
            headers={"Content-Type": "image/png"},
        )
        assert read.status_code == 200, read.text
        assert read.json()["id_number"]["value"] == card.truth.id_number
        assert read.json()["name"]["value"] == card.truth.name
        refused = theirs.post(
            f"/{ocr}/id-cards", content=card.encoded("PNG"), headers={"Content-Type": "image/png"}
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
