"""The signed identity headers: what the gateway signs is what a module can verify."""

from __future__ import annotations

import pytest
from taas_sdk import signing

SECRET = "vendor-secret"
NOW = 1_800_000_000


def signed_headers(**changes: str) -> dict[str, str]:
    fields = {
        "timestamp": str(NOW),
        "method": "POST",
        "path": "/score/a%20b",
        "tenant": "rural-7",
        "tenant_id": "6f1c2c8e-0000-4000-8000-000000000001",
        "caller": "service-account-1",
        "scopes": "email profile",
        "module": "risk",
        "version": "1.2.0",
        "request_id": "req-1",
    }
    canonical = signing.canonical_string(**fields)
    headers = {
        signing.TIMESTAMP: fields["timestamp"],
        signing.TENANT: fields["tenant"],
        signing.TENANT_ID: fields["tenant_id"],
        signing.CALLER: fields["caller"],
        signing.SCOPES: fields["scopes"],
        signing.MODULE: fields["module"],
        signing.PLUGIN_VERSION: fields["version"],
        signing.REQUEST_ID: fields["request_id"],
        signing.SIGNATURE: signing.sign(SECRET, canonical),
    }
    headers.update(changes)
    return headers


def verify(headers: dict[str, str], *, method: str = "POST", path: str = "/score/a%20b") -> bool:
    return signing.verify_signature(headers, SECRET, 60, method=method, path=path, now=NOW + 5)


def test_the_canonical_string_is_the_ten_fields_joined_by_newlines() -> None:
    text = signing.canonical_string(
        timestamp=1,
        method="GET",
        path="/x",
        tenant="t",
        tenant_id="id",
        caller="c",
        scopes="s",
        module="m",
        version="v",
        request_id="r",
    )
    assert text == "1\nGET\n/x\nt\nid\nc\ns\nm\nv\nr"


def test_a_signature_verifies_with_headers_in_any_letter_case() -> None:
    headers = signed_headers()
    assert headers[signing.SIGNATURE].startswith("v1=")
    assert verify(headers)
    assert verify({name.lower(): value for name, value in headers.items()})


@pytest.mark.parametrize(
    "change",
    [
        {signing.TENANT: "other-bank"},
        {signing.SCOPES: "email profile admin"},
        {signing.CALLER: "someone-else"},
        {signing.SIGNATURE: "v1=" + "0" * 64},
    ],
)
def test_any_changed_header_breaks_the_signature(change: dict[str, str]) -> None:
    assert not verify(signed_headers(**change))


def test_the_signature_binds_method_and_path() -> None:
    headers = signed_headers()
    assert not verify(headers, method="GET")
    assert not verify(headers, path="/admin")


def test_old_or_missing_signatures_are_refused() -> None:
    headers = signed_headers()
    assert not signing.verify_signature(
        headers, SECRET, 60, method="POST", path="/score/a%20b", now=NOW + 61
    )
    del headers[signing.SIGNATURE]
    assert not verify(headers)
    assert not verify(signed_headers(**{signing.TIMESTAMP: "soon"}))


def test_a_newline_cannot_be_smuggled_into_a_signed_field() -> None:
    with pytest.raises(ValueError, match="newline"):
        signing.canonical_string(
            timestamp=1,
            method="GET",
            path="/x",
            tenant="t",
            tenant_id="id",
            caller="c\nGET",
            scopes="s",
            module="m",
            version="v",
            request_id="r",
        )


def test_a_signer_signs_like_sign() -> None:
    assert signing.signer(SECRET)("abc") == signing.sign(SECRET, "abc")
