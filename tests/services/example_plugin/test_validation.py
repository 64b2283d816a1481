"""The vendor guide's SDK-free example plugin passes the platform's whole validation,
signature probes included: it refuses calls whose identity headers the gateway did not sign."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taas.catalog.validation import validate
from taas.kit import signing

APP = Path(__file__).resolve().parents[3] / "services" / "example_plugin" / "app.py"
SECRET = "example-plugin-test-secret"


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("example_plugin_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its annotations are resolved through the module
    spec.loader.exec_module(module)
    return module


def _gateway_headers(method: str, path: str) -> dict[str, str]:
    return dict(
        signing.identity_headers(
            signing.signer(SECRET),
            timestamp=str(int(time.time())),
            method=method,
            path=path,
            tenant="taas-contract-check",
            tenant_id="00000000-0000-0000-0000-000000000000",
            caller="system:plugin-validator",
            caller_client="system:plugin-validator",
            scopes="loan-precheck.use",
            module="loan-precheck",
            version="1.0.0",
            request_id="contract-1",
        )
    )


def test_the_example_plugin_passes_validation_and_its_signature_probes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAAS_SIGNING_SECRET", SECRET)
    example = _example()
    http: Any = TestClient(example.create_app())
    report = validate(example.manifest("http://testserver"), http, _gateway_headers)
    failed = [check for check in report["checks"] if not check["ok"]]
    assert not failed, failed
    names = {check["name"] for check in report["checks"]}
    assert {
        "signature.unsigned POST /precheck",
        "signature.wrong_key POST /precheck",
        "signature.tampered POST /precheck",
    } <= names
