"""The shared parts of the components: where a built binary lives (no servers)."""

from __future__ import annotations

from pathlib import Path

from taas.kit.settings import StackSettings
from taas.localstack import versions
from taas.localstack.components import COMPONENT_TYPES, BuiltComponent, Etcd, KubeScheduler, Kwok
from taas.localstack.context import StackContext


def _context(tmp_path: Path) -> StackContext:
    return StackContext(StackSettings(cache_dir=tmp_path / "cache", state_dir=tmp_path / "state"))


def test_a_built_binary_lives_in_its_versioned_cache_folder(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    assert Etcd(ctx).binary == ctx.paths.bin_dir("etcd", versions.ETCD) / "etcd"
    assert Kwok(ctx).binary == ctx.paths.bin_dir("kwok", versions.KWOK) / "kwok"


def test_the_kubernetes_servers_share_one_build_and_the_node_another(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    built = {
        kind.name: kind(ctx)
        for kind in COMPONENT_TYPES
        if issubclass(kind, BuiltComponent) and kind.name.startswith("kube")
    }
    control_plane = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
    node = ["kubelet", "kube-proxy"]
    assert {built[name].binary.parent for name in control_plane} == {
        ctx.paths.bin_dir("kubernetes", versions.KUBERNETES)
    }
    assert {built[name].binary.parent for name in node} == {
        ctx.paths.bin_dir("kubernetes-node", versions.KUBERNETES)
    }
    assert [built[name].binary.name for name in control_plane + node] == control_plane + node


def test_nothing_built_means_not_installed(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    assert not any(
        kind(ctx).installed() for kind in COMPONENT_TYPES if issubclass(kind, BuiltComponent)
    )
    scheduler = KubeScheduler(ctx)
    scheduler.binary.parent.mkdir(parents=True)
    scheduler.binary.write_text("")
    assert scheduler.installed()
    assert scheduler.binary_version() is None  # not a program: no version, no exception
