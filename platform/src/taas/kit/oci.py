"""OCI images without a container engine: layers written as reproducible tarballs, an image
config and manifest, and a push to any registry that speaks the OCI distribution API.

Layers are content-addressed files in a folder of the caller's choosing, so a layer built
once (a base system, a Python environment) is reused by every image and every push that
names it. The same inputs give the same digests: entries are sorted, owners and times are
fixed, gzip carries no timestamp.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import ssl
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import httpx

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
_CHUNK = 1 << 20


class RegistryError(RuntimeError):
    """The registry refused a push or a read; the message says which request and why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class Entry:
    """One file, folder or symlink of a layer. ``source`` is a path on this machine or the
    bytes themselves; folders and links have neither."""

    path: str
    source: Path | bytes | None = None
    mode: int = 0o644
    link: str | None = None
    uid: int = 0
    gid: int = 0

    @property
    def is_dir(self) -> bool:
        return self.source is None and self.link is None


@dataclass(frozen=True)
class Layer:
    """A gzipped tar blob on disk with its digest (compressed) and diff id (uncompressed)."""

    path: Path
    digest: str
    diff_id: str
    size: int

    @property
    def descriptor(self) -> dict[str, object]:
        return {"mediaType": LAYER_MEDIA_TYPE, "digest": self.digest, "size": self.size}


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what tar writes before gzip compresses it (the layer's diff id)."""

    def __init__(self, target: gzip.GzipFile) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.digest.update(data)
        self.target.write(data)
        return len(data)


def _tar_info(entry: Entry) -> tuple[tarfile.TarInfo, io.BufferedIOBase | io.BytesIO | None]:
    info = tarfile.TarInfo(str(PurePosixPath(entry.path.lstrip("/"))))
    info.uid, info.gid, info.mtime, info.mode = entry.uid, entry.gid, 0, entry.mode
    if entry.link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, entry.link
        return info, None
    if entry.source is None:
        info.type, info.mode = tarfile.DIRTYPE, entry.mode if entry.mode != 0o644 else 0o755
        return info, None
    if isinstance(entry.source, bytes):
        info.size = len(entry.source)
        return info, io.BytesIO(entry.source)
    info.size = entry.source.stat().st_size
    return info, entry.source.open("rb")


def write_layer(entries: Iterable[Entry], blobs: Path) -> Layer:
    """Write ``entries`` as one layer into the folder ``blobs`` (named by digest); reused
    when a layer with the same content is already there."""
    blobs.mkdir(parents=True, exist_ok=True)
    partial = blobs / f".partial-{os.getpid()}"
    with partial.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as zipped:
        hashing = _HashingWriter(zipped)
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(entries, key=lambda one: one.path):
                info, content = _tar_info(entry)
                tar.addfile(info, content)
                if content is not None:
                    content.close()
    digest = sha256_of(partial)
    final = blobs / digest.removeprefix("sha256:")
    partial.replace(final)
    return Layer(final, digest, f"sha256:{hashing.digest.hexdigest()}", final.stat().st_size)


def tree_entries(root: Path, under: str, *, uid: int = 0, gid: int = 0) -> list[Entry]:
    """Every file, folder and link below ``root``, placed below ``under`` in the image."""
    found = [Entry(under, mode=0o755, uid=uid, gid=gid)]
    for path in sorted(root.rglob("*")):
        target = str(PurePosixPath(under) / path.relative_to(root).as_posix())
        mode = path.lstat().st_mode & 0o7777
        if path.is_symlink():
            found.append(Entry(target, link=str(path.readlink()), mode=0o777, uid=uid, gid=gid))
        elif path.is_dir():
            found.append(Entry(target, mode=mode, uid=uid, gid=gid))
        else:
            found.append(Entry(target, path, mode=mode, uid=uid, gid=gid))
    return found


@dataclass(frozen=True)
class ImageConfig:
    """What the runtime needs to start the image."""

    entrypoint: Sequence[str]
    cmd: Sequence[str] = ()
    user: str = "65532:65532"
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = "/"
    ports: Sequence[int] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Image:
    """Layers (base first) and config, as the three documents a registry stores."""

    layers: Sequence[Layer]
    config: ImageConfig

    def config_bytes(self) -> bytes:
        settings: dict[str, object] = {
            "Entrypoint": list(self.config.entrypoint),
            "Cmd": list(self.config.cmd) or None,
            "User": self.config.user,
            "Env": [f"{key}={value}" for key, value in sorted(self.config.env.items())],
            "WorkingDir": self.config.workdir,
            "Labels": dict(self.config.labels) or None,
            "ExposedPorts": {f"{port}/tcp": {} for port in self.config.ports} or None,
        }
        document = {
            "architecture": "amd64",
            "os": "linux",
            "config": {key: value for key, value in settings.items() if value is not None},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in self.layers]},
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def manifest_bytes(self) -> bytes:
        config = self.config_bytes()
        document = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "digest": f"sha256:{hashlib.sha256(config).hexdigest()}",
                "size": len(config),
            },
            "layers": [layer.descriptor for layer in self.layers],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        """The manifest's digest: what a pod names to pull exactly this image."""
        return f"sha256:{hashlib.sha256(self.manifest_bytes()).hexdigest()}"

    @property
    def size(self) -> int:
        """Bytes a node downloads: config and compressed layers."""
        return len(self.config_bytes()) + sum(layer.size for layer in self.layers)


class RegistryClient:
    """Pushes images to one registry over HTTPS (``ca`` verifies it; None uses the system's)."""

    def __init__(self, address: str, *, ca: Path | None = None, timeout_s: float = 60.0) -> None:
        self.address = address
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca)) if ca is not None else True
        )
        self.http = httpx.Client(base_url=f"https://{address}", verify=verify, timeout=timeout_s)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _check(self, response: httpx.Response, what: str, *ok: int) -> httpx.Response:
        if response.status_code not in ok:
            raise RegistryError(
                f"{what}: HTTP {response.status_code} from {self.address}: {response.text[:300]}"
            )
        return response

    def has_blob(self, repository: str, digest: str) -> bool:
        response = self.http.head(f"/v2/{repository}/blobs/{digest}")
        return response.status_code == 200

    def push_blob(self, repository: str, digest: str, content: Path | bytes) -> None:
        if self.has_blob(repository, digest):
            return
        started = self._check(
            self.http.post(f"/v2/{repository}/blobs/uploads/"),
            f"starting the upload of {digest} to {repository}",
            202,
        )
        location = started.headers["location"]
        size = len(content) if isinstance(content, bytes) else content.stat().st_size
        headers = {"content-type": "application/octet-stream", "content-length": str(size)}
        with contextlib.ExitStack() as closing:
            body = (
                content if isinstance(content, bytes) else closing.enter_context(content.open("rb"))
            )
            self._check(
                # The location carries the upload's signed state in its query: keep it.
                self.http.put(
                    httpx.URL(location).copy_merge_params({"digest": digest}),
                    content=body,
                    headers=headers,
                ),
                f"uploading {digest} to {repository}",
                201,
            )

    def push(self, repository: str, image: Image, tags: Sequence[str] = ()) -> str:
        """Push ``image`` (blobs first, then the manifest by digest and each tag); its
        pullable name ``<registry>/<repository>@<digest>``."""
        for layer in image.layers:
            self.push_blob(repository, layer.digest, layer.path)
        config = image.config_bytes()
        self.push_blob(repository, f"sha256:{hashlib.sha256(config).hexdigest()}", config)
        manifest = image.manifest_bytes()
        for reference in (image.digest, *tags):
            self._check(
                self.http.put(
                    f"/v2/{repository}/manifests/{reference}",
                    content=manifest,
                    headers={"content-type": MANIFEST_MEDIA_TYPE},
                ),
                f"pushing the manifest of {repository}:{reference}",
                201,
            )
        return f"{self.address}/{repository}@{image.digest}"

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest ``reference`` (a tag) points at; None if there is no such image."""
        response = self.http.head(
            f"/v2/{repository}/manifests/{reference}", headers={"accept": MANIFEST_MEDIA_TYPE}
        )
        if response.status_code == 404:
            return None
        self._check(response, f"reading {repository}:{reference}", 200)
        digest: str | None = response.headers.get("docker-content-digest")
        return digest
