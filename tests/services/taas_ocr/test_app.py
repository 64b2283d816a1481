"""The OCR module's API through the SDK test kit: both ways in, results stored, 4xx
problems for bad input, tenants kept apart, and the OpenAPI examples keep their contract."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from taas_ocr import examples, generator, validation
from taas_ocr.app import create_ocr_app
from taas_sdk import manifest
from taas_sdk.testing import ModuleClient

from module_support import contract_check

PROBLEM = "application/problem+json"
JPEG = {"content-type": "image/jpeg"}
PNG = {"content-type": "image/png"}


def assert_problem(response: Any, status: int, detail: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert detail in body["detail"], body
    return body


def test_an_id_card_photo_sent_as_the_body_is_read(client: ModuleClient) -> None:
    sample = generator.id_card(100, "degraded")
    response = client.post("/id-cards", content=sample.encoded("JPEG"), headers=JPEG)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id_number"] == {"value": sample.truth.id_number, "confidence": body[
        "id_number"]["confidence"], "source": "ocr"}  # fmt: skip
    assert body["birth_date"]["value"] == sample.truth.birth_date
    assert body["sex"]["value"] == sample.truth.sex
    assert body["checks"]["id_number_checksum"] is True
    assert body["card_outline_found"] is True
    assert body["image"] == {
        "format": "JPEG", "width": sample.image.width, "height": sample.image.height,
    }  # fmt: skip
    assert body["stored_as"] is None


def test_an_object_of_the_tenant_is_read_and_the_result_stored(client: ModuleClient) -> None:
    sample = generator.bank_card(100)
    client.storage().put("scans/card.png", sample.encoded("PNG"), "image/png")
    response = client.post(
        "/bank-cards",
        json={"object": "scans/card.png", "store_result": True, "result_key": "out/card.json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"]["value"] == sample.truth.number
    assert body["luhn_valid"] is True
    assert body["stored_as"] == "out/card.json"
    stored = json.loads(client.storage().objects["out/card.json"])
    assert stored == {**body, "stored_as": None}
    assert client.storage().content_types["out/card.json"] == "application/json"


def test_a_raw_upload_can_store_its_result_under_a_default_key(client: ModuleClient) -> None:
    sample = generator.document(100)
    response = client.post(
        "/documents", content=sample.encoded("PNG"), headers=PNG, params={"store_result": "true"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"].splitlines()[0] == sample.truth.lines[0]
    assert len(body["lines"]) == len(sample.truth.lines)
    first = body["lines"][0]
    assert first["box"]["width"] > 0
    assert len(first["polygon"]) == 4
    assert body["stored_as"].startswith("results/documents/")
    assert body["stored_as"] in client.storage().objects


def test_another_tenant_cannot_read_the_object(client: ModuleClient) -> None:
    client.storage().put("scans/card.png", generator.bank_card(1).encoded("PNG"))
    other = client.as_tenant("bank-b")
    response = other.post("/bank-cards", json={"object": "scans/card.png"})
    assert_problem(response, 404, "no object 'scans/card.png'")


def test_malformed_images_get_clear_4xx_problems(client: ModuleClient) -> None:
    assert_problem(client.post("/id-cards", content=b"", headers=JPEG), 422, "empty")
    not_image = b"%PDF-1.7 a document, not an image"
    assert_problem(client.post("/id-cards", content=not_image, headers=JPEG), 422, "not an image")
    corrupt = b"\xff\xd8\xff\xe0 a JPEG signature, then nothing of a JPEG"
    assert_problem(client.post("/id-cards", content=corrupt, headers=JPEG), 422, "corrupt")
    whole = generator.id_card(0).encoded("JPEG")
    truncated = client.post("/id-cards", content=whole[: len(whole) // 3], headers=JPEG)
    assert_problem(truncated, 422, "corrupt or truncated")
    gif = Image.new("RGB", (64, 64))
    assert_problem(client.post("/documents", content=_encoded(gif, "GIF"), headers=PNG), 415, "GIF")
    blank = _encoded(Image.new("RGB", (856, 540), "white"), "PNG")
    body = assert_problem(client.post("/id-cards", content=blank, headers=PNG), 422, "no text")
    assert "hint" in body


def test_a_huge_file_is_refused_with_413(client: ModuleClient) -> None:
    huge = b"\xff" * (validation.MAX_IMAGE_BYTES + 1)
    body = assert_problem(client.post("/id-cards", content=huge, headers=JPEG), 413, "limit")
    assert "hint" in body


def test_a_huge_object_in_storage_is_refused_before_it_is_read(
    client: ModuleClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = client.storage()
    storage.put("scans/huge.jpg", b"\xff" * (validation.MAX_IMAGE_BYTES + 1))
    monkeypatch.setattr(storage, "get", lambda key: pytest.fail("the object was read"))
    body = assert_problem(client.post("/id-cards", json={"object": "scans/huge.jpg"}), 413, "limit")
    assert "hint" in body


def test_a_huge_stream_without_a_length_is_cut_off_at_the_limit(client: ModuleClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(30):  # 30 MB in 1 MB chunks, sent chunked (no Content-Length)
            yield b"\0" * (1024 * 1024)

    response = client.post("/documents", content=chunks(), headers=JPEG)
    assert_problem(response, 413, "limit")


def test_a_huge_image_in_pixels_is_refused_with_413(client: ModuleClient) -> None:
    wide = _encoded(Image.new("1", (12_000, 5_000)), "PNG")
    assert_problem(client.post("/documents", content=wide, headers=PNG), 413, "pixels")


def test_bad_requests_get_clear_4xx_problems(client: ModuleClient) -> None:
    text = client.post("/id-cards", content=b"hello", headers={"content-type": "text/plain"})
    assert_problem(text, 415, "text/plain")
    assert_problem(client.post("/id-cards", json={}), 422, "exactly one of")
    both = {"object": "a.png", "image_base64": "aGk="}
    assert_problem(client.post("/id-cards", json=both), 422, "exactly one of")
    assert_problem(client.post("/id-cards", json={"image_base64": "***"}), 422, "base64")
    broken = client.post(
        "/id-cards", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(broken, 422, "not an image reference")
    assert_problem(client.post("/id-cards", json={"object": "../x.png"}), 422, "invalid object")


def test_calls_that_did_not_come_through_the_gateway_are_refused() -> None:
    with TestClient(create_ocr_app(), raise_server_exceptions=False) as plain:
        response = plain.post("/id-cards", json={"object": "a.png"})
    assert_problem(response, 401, "gateway")


def test_the_openapi_document_is_valid_and_every_example_keeps_its_contract(
    client: ModuleClient,
) -> None:
    checks = contract_check(cast(FastAPI, client.app))
    assert "openapi.valid" in checks
    for path in ("/id-cards", "/bank-cards", "/documents"):
        expected = {f"contract POST {path} [{name}]" for name in ("inline", "invalid", "corrupt")}
        assert expected <= checks


def test_the_inline_examples_read_as_their_responses_say(client: ModuleClient) -> None:
    document = cast(FastAPI, client.app).openapi()
    for path in ("/id-cards", "/bank-cards"):
        operation = document["paths"][path]["post"]
        request = operation["requestBody"]["content"]["application/json"]["examples"]["inline"]
        declared = operation["responses"]["200"]["content"]["application/json"]["examples"]
        response = client.post(path, json=request["value"])
        assert response.status_code == 200, response.text
        read, expected = response.json(), declared["inline"]["value"]
        for name, field in expected.items():
            if isinstance(field, dict) and "value" in field:
                assert read[name]["value"] == field["value"], name
        assert read["image"] == expected["image"]


def test_the_manifest_says_what_the_module_touches(client: ModuleClient) -> None:
    document = manifest(cast(FastAPI, client.app), url="http://127.0.0.1:58303")
    assert document["name"] == "ocr"
    assert document["capability"] == "ocr"
    assert document["scopes"] == ["ocr.read"]
    assert document["data"] == {
        "storage": ["read", "write"], "personal_data": ["identity", "document_images"],
    }  # fmt: skip
    assert set(document["openapi"]["paths"]) >= {"/id-cards", "/bank-cards", "/documents"}


def test_the_inline_example_images_are_small() -> None:
    for file in ("id-card.jpg", "bank-card.jpg", "document.png"):
        assert len(base64.b64decode(examples.inline(file))) < 20_000, file


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()
