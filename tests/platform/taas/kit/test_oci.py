"""Images written without a container engine are reproducible and well formed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from taas.kit.oci import (
    CONFIG_MEDIA_TYPE,
    LAYER_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    Entry,
    Image,
    ImageConfig,
    tree_entries,
    write_layer,
)


def _entries(tmp_path: Path) -> list[Entry]:
    binary = tmp_path / "app"
    binary.write_bytes(b"\x7fELF pretend")
    return [
        Entry("/usr/bin/app", binary, mode=0o755),
        Entry("/etc/app.conf", b"port=8080\n"),
        Entry("/usr", mode=0o755),
        Entry("/usr/bin", mode=0o755),
        Entry("/usr/bin/run", link="app"),
    ]


def test_the_same_files_give_the_same_digests(tmp_path: Path) -> None:
    first = write_layer(_entries(tmp_path), tmp_path / "a")
    second = write_layer(list(reversed(_entries(tmp_path))), tmp_path / "b")
    assert (first.digest, first.diff_id, first.size) == (second.digest, second.diff_id, second.size)
    assert first.path.name == first.digest.removeprefix("sha256:")
    flags = first.path.read_bytes()[3]
    assert not flags & 0x08  # no file name in the gzip header (it would differ per process)
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.path.name


def test_a_layer_holds_the_files_with_fixed_owners_and_times(tmp_path: Path) -> None:
    layer = write_layer(_entries(tmp_path), tmp_path / "blobs")
    raw = gzip.decompress(layer.path.read_bytes())
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == layer.diff_id
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert list(members) == sorted(members)
        assert members["usr/bin/app"].mode == 0o755
        assert members["usr/bin/run"].issym()
        assert members["usr/bin/run"].linkname == "app"
        assert members["usr"].isdir()
        assert {(m.uid, m.gid, m.mtime) for m in members.values()} == {(0, 0, 0)}
        conf = tar.extractfile("etc/app.conf")
        assert conf is not None
        assert conf.read() == b"port=8080\n"


def test_a_changed_file_changes_the_digest(tmp_path: Path) -> None:
    before = write_layer([Entry("/a", b"1")], tmp_path / "blobs")
    after = write_layer([Entry("/a", b"2")], tmp_path / "blobs")
    assert before.digest != after.digest
    assert before.path.exists()
    assert after.path.exists()


def test_manifest_and_config_name_the_layers_and_the_user(tmp_path: Path) -> None:
    layer = write_layer(_entries(tmp_path), tmp_path / "blobs")
    image = Image(
        [layer],
        ImageConfig(entrypoint=["/usr/bin/app"], env={"B": "2", "A": "1"}, ports=[8080]),
    )
    manifest = json.loads(image.manifest_bytes())
    config = json.loads(image.config_bytes())
    assert manifest["mediaType"] == MANIFEST_MEDIA_TYPE
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert (
        manifest["config"]["digest"] == f"sha256:{hashlib.sha256(image.config_bytes()).hexdigest()}"
    )
    assert manifest["layers"] == [
        {"mediaType": LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.size}
    ]
    assert config["rootfs"]["diff_ids"] == [layer.diff_id]
    assert config["config"]["User"] == "65532:65532"  # non-root unless told
    assert config["config"]["Env"] == ["A=1", "B=2"]
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert image.digest == f"sha256:{hashlib.sha256(image.manifest_bytes()).hexdigest()}"
    assert image.size == len(image.config_bytes()) + layer.size


def test_a_tree_keeps_modes_and_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"x")
    (root / "bin" / "tool").chmod(0o750)
    (root / "bin" / "alias").symlink_to("tool")
    entries = {entry.path: entry for entry in tree_entries(root, "/opt/app", uid=10, gid=20)}
    assert set(entries) == {"/opt/app", "/opt/app/bin", "/opt/app/bin/tool", "/opt/app/bin/alias"}
    assert entries["/opt/app/bin/tool"].mode == 0o750
    assert entries["/opt/app/bin/alias"].link == "tool"
    assert {entry.uid for entry in entries.values()} == {10}
