"""The stack's registry stores what the OCI writer pushes, over HTTPS trusted through the
stack's CA, and says clearly what it refuses."""

from __future__ import annotations

import hashlib
import json
import ssl
import uuid
from pathlib import Path

import httpx
import pytest

from taas.kit.oci import (
    MANIFEST_MEDIA_TYPE,
    Entry,
    Image,
    ImageConfig,
    RegistryClient,
    RegistryError,
    write_layer,
)
from taas.localstack.components import Registry
from taas.localstack.stack import LocalStack


def _image(tmp_path: Path, content: bytes) -> Image:
    layer = write_layer([Entry("/hello.txt", content)], tmp_path / "blobs")
    return Image([layer], ImageConfig(entrypoint=["/hello"]))


def test_a_pushed_image_is_readable_by_digest_and_tag(stack: LocalStack, tmp_path: Path) -> None:
    registry = Registry(stack.ctx)
    repository = f"tests/hello-{uuid.uuid4().hex[:8]}"
    image = _image(tmp_path, uuid.uuid4().bytes)
    with RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as pusher:
        name = pusher.push(repository, image, tags=["v1"])
        assert name == f"{registry.address}/{repository}@{image.digest}"
        assert pusher.manifest_digest(repository, "v1") == image.digest
        assert pusher.manifest_digest(repository, "missing") is None
        # A second push sends nothing new and names the same image.
        assert pusher.push(repository, image, tags=["v1"]) == name
    tls = ssl.create_default_context(cafile=str(stack.ctx.pki.ca.cert))
    with httpx.Client(base_url=f"https://{registry.address}", verify=tls) as http:
        manifest = http.get(
            f"/v2/{repository}/manifests/{image.digest}", headers={"accept": MANIFEST_MEDIA_TYPE}
        )
        assert manifest.status_code == 200
        assert hashlib.sha256(manifest.content).hexdigest() == image.digest.removeprefix("sha256:")
        layer = json.loads(manifest.content)["layers"][0]["digest"]
        blob = http.get(f"/v2/{repository}/blobs/{layer}", follow_redirects=True)
        assert hashlib.sha256(blob.content).hexdigest() == layer.removeprefix("sha256:")


def test_it_is_served_only_over_https_with_the_stacks_ca(stack: LocalStack) -> None:
    registry = Registry(stack.ctx)
    with pytest.raises(httpx.ConnectError):  # not trusted without the stack's CA
        httpx.get(f"https://{registry.address}/v2/", timeout=5)
    plain = httpx.get(f"http://{registry.address}/v2/", timeout=5)
    assert plain.status_code == 400  # it answers plain HTTP only to say so


def test_a_refused_push_names_the_request(stack: LocalStack, tmp_path: Path) -> None:
    registry = Registry(stack.ctx)
    image = _image(tmp_path, b"x")
    with (
        RegistryClient(registry.address, ca=stack.ctx.pki.ca.cert) as pusher,
        pytest.raises(RegistryError, match=r"Bad_Name.*HTTP 40\d"),
    ):
        pusher.push("Bad_Name", image)
