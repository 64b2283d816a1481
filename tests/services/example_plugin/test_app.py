"""The example plugin as its vendor tests it, with the module SDK and pytest alone.

The plugin does not use the SDK; its tests use the SDK's signing to call it as the TaaS
gateway would. tests/test_distributions.py runs this file in a clean virtualenv that
holds only ``taas-sdk`` and pytest, so it imports nothing from the platform or the
project's test helpers.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from taas_sdk import signing

APP = Path(__file__).resolve().parents[3] / "services" / "example_plugin" / "app.py"
SECRET = "example-plugin-vendor-secret"
URL = "http://127.0.0.1:58201"


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("example_plugin_vendor_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its annotations are resolved through the module
    spec.loader.exec_module(module)
    return module


example = _example()


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("TAAS_SIGNING_SECRET", SECRET)
    return TestClient(example.create_app())


def signed(
    path: str, *, secret: str = SECRET, tenant: str = "bank-a", age_s: int = 0
) -> dict[str, str]:
    """The identity headers of a gateway call to ``POST path`` for ``tenant``."""
    return dict(
        signing.identity_headers(
            signing.signer(secret),
            timestamp=str(int(time.time()) - age_s),
            method="POST",
            path=path,
            tenant=tenant,
            tenant_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant)),
            caller="loan-officer-1",
            caller_client=f"{tenant}-systems",
            scopes=example.SCOPE,
            module=example.NAME,
            version=example.VERSION,
            request_id=uuid.uuid4().hex,
        )
    )


@pytest.mark.parametrize(
    ("application", "decision"),
    [
        ({"amount": 50_000, "term_months": 24, "monthly_income": 12_000}, "approve"),
        ({"amount": 120_000, "term_months": 24, "monthly_income": 10_000}, "review"),
        (
            {
                "amount": 900_000,
                "term_months": 12,
                "monthly_income": 8_000,
                "existing_monthly_debt": 3_000,
            },
            "reject",
        ),
    ],
)
def test_a_signed_call_gets_a_decision_for_the_calling_bank(
    client: TestClient, application: dict[str, int], decision: str
) -> None:
    response = client.post("/precheck", json=application, headers=signed("/precheck"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == decision
    assert body["tenant"] == "bank-a"
    assert bool(body["reasons"]) == (decision != "approve")


def _tampered() -> dict[str, str]:
    headers = signed("/precheck")
    headers["X-TaaS-Tenant"] = "bank-b"
    return headers


UNSIGNED: dict[str, Callable[[], dict[str, str]]] = {
    "unsigned": dict,
    "wrong-key": lambda: signed("/precheck", secret="not-the-vendor-secret"),
    "tampered-tenant": _tampered,
    "an-hour-old": lambda: signed("/precheck", age_s=3600),
    "signed-for-another-path": lambda: signed("/other-path"),
}


@pytest.mark.parametrize("forged", UNSIGNED)
def test_a_call_the_gateway_did_not_sign_is_refused(client: TestClient, forged: str) -> None:
    application = {"amount": 50_000, "term_months": 24, "monthly_income": 12_000}
    response = client.post("/precheck", json=application, headers=UNSIGNED[forged]())
    assert response.status_code == 401


def test_an_invalid_application_is_refused_with_422(client: TestClient) -> None:
    invalid = example.EXAMPLES["invalid"]["value"]
    response = client.post("/precheck", json=invalid, headers=signed("/precheck"))
    assert response.status_code == 422


def test_the_health_probe_needs_no_signature(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_manifest_names_the_scope_and_carries_the_examples() -> None:
    document = example.manifest(URL)
    assert document["upstream"] == {"url": URL}
    assert document["scopes"] == [example.SCOPE]
    operation = document["openapi"]["paths"]["/precheck"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"approve", "reject", "invalid"}
    assert "invalid" in operation["responses"]["422"]["content"]["application/json"]["examples"]


def test_the_command_line_prints_the_manifest() -> None:
    printed = subprocess.run(
        [sys.executable, str(APP), "--manifest", "--url", URL],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(printed.stdout)["name"] == example.NAME
