"""The three reference modules as the platform runs them: images built from the checkout,
manifests that name only the image, validation on the image in a sandbox, and pods on the
real node that answer the banks through the gateway. Storage goes the production way from
inside the pods: the gateway's grant exchanged at the API for credentials confined to the
bank's bucket, then straight to object storage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
from node_support import push_app_image
from support import systems_token, unique_slug, wait_for
from taas.integrations.systems import systems
from taas.localstack.app_images import PORT
from taas.localstack.stack import LocalStack

JOB_TIMEOUT_S = 180.0
APPS: dict[str, Callable[[], FastAPI]] = {
    "risk": lambda: create_risk_app(settings=ModuleSettings(signing_secret="-")),
    "marketing": lambda: create_marketing_app(ModuleSettings(signing_secret="-")),
    "ocr": lambda: create_ocr_app(settings=ModuleSettings(signing_secret="-")),
}


@pytest.fixture(scope="module")
def images(stack: LocalStack) -> dict[str, str]:
    return {name: push_app_image(stack, name) for name in APPS}


def _publish(
    api: Any, operator: dict[str, str], vendor: VendorAccount, name: str, image: str
) -> dict[str, Any]:
    body = manifest(APPS[name](), image=image, port=PORT)  # what `--manifest --image` prints
    assert "url" not in body["upstream"]
    body["name"] = unique_slug(body["name"])
    submitted = api.post(f"/v1/vendors/{vendor.slug}/plugins", json=body, headers=vendor.headers())
    assert submitted.status_code == 202, submitted.text
    # Validation pulls the image and starts it first (a few hundred MB on a cold node).
    until = {"validated", "invalid"}
    done = wait_version(api, operator, body["name"], body["version"], until, timeout=240)
    failed = [c for c in done["validation"]["checks"] if not c["ok"]]
    assert done["status"] == "validated", failed
    assert sum(c["name"].startswith("contract ") for c in done["validation"]["checks"]) >= 3
    approved = api.post(
        f"/v1/plugins/{body['name']}/versions/{body['version']}/approve", json={}, headers=operator
    )
    assert approved.status_code == 200, approved.text
    return body


def _client(gateway: Any, tenant: dict[str, Any], scopes: list[str]) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.url}/t/{tenant['slug']}",
        headers={"Authorization": f"Bearer {systems_token(tenant, ' '.join(scopes))}"},
        timeout=60,
    )


def _pod_names(module: str) -> set[str]:
    pods = systems().kubernetes.list_objects(
        "v1", "Pod", systems().modules.shared_namespace, f"taas.io/module={module}"
    )
    return {pod["metadata"]["name"] for pod in pods if pod["status"].get("phase") == "Running"}


def _decide(bank: httpx.Client, module: str) -> httpx.Response:
    application = risk_examples.DECISION_REQUESTS["approve"]["value"]
    answer: httpx.Response = wait_for(
        lambda: (r := bank.post(f"/{module}/decisions", json=application)).status_code != 403 and r,
        timeout=10,
        what="the risk route",
    )
    assert answer.status_code == 200, answer.text
    return answer


def test_reference_modules_run_as_pods_behind_the_gateway(
    api: Any,
    operator: dict[str, str],
    gateway: Any,
    pod_relay: str,
    make_tenant: Callable[..., dict[str, Any]],
    make_vendor: Callable[[], VendorAccount],
    images: dict[str, str],
) -> None:
    vendor = make_vendor()
    published = {name: _publish(api, operator, vendor, name, images[name]) for name in APPS}
    risk, marketing, ocr = (published[n]["name"] for n in ("risk", "marketing", "ocr"))
    scopes = sorted(
        {s for body in published.values() for s in (*body["scopes"], *body["operation_scopes"])}
    )
    bank = make_tenant(tier="pool")["tenant"]
    other = make_tenant(tier="pool")["tenant"]
    for module in (risk, marketing, ocr):
        subscribe(api, operator, bank, module)
    subscribe(api, operator, other, risk)

    risk_scopes = [*published["risk"]["scopes"], *published["risk"]["operation_scopes"]]
    with (
        _client(gateway, bank, scopes) as mine,
        _client(gateway, other, risk_scopes) as theirs,
    ):
        # Risk: answered by its pod; the bank's blacklist (kept in its bucket, reached from
        # the pod with credentials confined to it) changes this bank's decisions only.
        answered = _decide(mine, risk)
        assert answered.headers["x-served-by"] in _pod_names(risk)
        phone = risk_examples.DECISION_REQUESTS["approve"]["value"]["phone"]
        entry = {"kind": "phone", "value": phone, "reason": "fraud ring"}
        listed = mine.post(f"/{risk}/blacklist", json=entry)
        assert listed.status_code == 201, listed.text
        assert _decide(mine, risk).json()["decision"] == "reject"
        assert _decide(theirs, risk).json()["decision"] == "approve"

        # Marketing: a presigned upload into the bank's bucket, a job run by the pod.
        ticket = mine.post(f"/{marketing}/uploads", json={})
        assert ticket.status_code == 201, ticket.text
        put = httpx.put(ticket.json()["url"], content=generate(1_000, seed=5).to_csv(), timeout=60)
        assert put.status_code == 200, put.text
        job = mine.post(
            f"/{marketing}/jobs", json={"upload_key": ticket.json()["key"], "segments": 3}
        )
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while (state := mine.get(f"/{marketing}/jobs/{job.json()['id']}").json())["state"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        assert state["state"] == "succeeded", state

        # OCR: an ID card read by the pod (Tesseract inside the image).
        card = id_card(seed=3)
        read = mine.post(
            f"/{ocr}/id-cards", content=card.encoded("PNG"), headers={"Content-Type": "image/png"}
        )
        assert read.status_code == 200, read.text
        assert read.headers["x-served-by"] in _pod_names(ocr)
        assert read.json()["id_number"]["value"] == card.truth.id_number
