"""What the real node leaves on the machine, found by the stack's own names: mounts below
its folders, processes in its cgroups, shims of its containerd. ``down`` removes them and
the tests check that nothing is left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

CGROUP_ROOT = "/taas"  # the node's pods live below this cgroup in every hierarchy
_CGROUP_FS = Path("/sys/fs/cgroup")


def mounts_below(folder: Path) -> list[str]:
    """Mount points at ``folder`` (the kubelet bind-mounts its root onto itself) or below."""
    top = str(folder.resolve())
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [point for point in points if point == top or point.startswith(top + "/")]


def unmount_below(folder: Path) -> list[str]:
    """Unmount every mount point at or below ``folder`` (deepest first); what was unmounted."""
    points = mounts_below(folder)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=30, check=False)
    return points


def node_cgroups() -> list[Path]:
    """The node's cgroup folders (``/taas`` and below, in every hierarchy), deepest first."""
    found: list[Path] = []
    for hierarchy in sorted(_CGROUP_FS.iterdir()) if _CGROUP_FS.exists() else []:
        top = hierarchy / CGROUP_ROOT.strip("/")
        if top.is_dir():
            found += [p for p in top.rglob("*") if p.is_dir()] + [top]
    return sorted(found, key=lambda p: -len(p.parts))


def ensure_node_cgroups() -> None:
    """Make ``/taas`` in every cgroup hierarchy: the kubelet keeps the pods below it."""
    for hierarchy in sorted(_CGROUP_FS.iterdir()) if _CGROUP_FS.exists() else []:
        if hierarchy.is_dir() and (hierarchy / "cgroup.procs").exists():
            (hierarchy / CGROUP_ROOT.strip("/")).mkdir(exist_ok=True)


def node_cgroup_pids() -> set[int]:
    """Processes still inside the node's cgroups: containers that outlived their shim."""
    pids: set[int] = set()
    for folder in node_cgroups():
        with contextlib.suppress(OSError):
            pids |= {int(pid) for pid in (folder / "cgroup.procs").read_text().split()}
    return pids


def shim_pids(socket: Path) -> set[int]:
    """containerd shims started by the containerd listening on ``socket``."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if (
                argv
                and argv[0].endswith(b"containerd-shim-runc-v2")
                and str(socket).encode() in argv
            ):
                pids.add(int(proc.name))
    return pids


def kill(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_node_cgroups() -> list[str]:
    """Remove the node's cgroups once no process is left in them; what was removed."""
    removed = []
    for folder in node_cgroups():
        with contextlib.suppress(OSError):  # still in use: left for the next `down`
            folder.rmdir()
            removed.append(str(folder))
    return removed


def network_namespaces(containerd_root: Path) -> list[str]:
    """Named network namespaces the CRI made for pod sandboxes (``cni-<id>``), mounted
    below its state folder (or in ``/run/netns``, where a CRI keeps them by default)."""
    folders = [Path("/run/netns"), *containerd_root.glob("state/*/netns")]
    return sorted(
        p.name
        for folder in folders
        if folder.is_dir()
        for p in folder.iterdir()
        if p.name.startswith("cni-") and os.path.ismount(p)
    )


def nft_table_exists(name: str, family: str = "inet") -> bool:
    listed = subprocess.run(
        ["nft", "list", "table", family, name], capture_output=True, timeout=10, check=False
    )
    return listed.returncode == 0


def iptables_chains() -> list[str]:
    """Chain names of the iptables nat and filter tables."""
    chains = []
    for table in ("nat", "filter"):
        listed = subprocess.run(
            ["iptables", "-t", table, "-S"], capture_output=True, text=True, timeout=10, check=False
        )
        chains += [line.split()[1] for line in listed.stdout.splitlines() if line.startswith("-N ")]
    return chains


def ipsets() -> list[str]:
    listed = subprocess.run(
        ["ipset", "list", "-n"], capture_output=True, text=True, timeout=10, check=False
    )
    return listed.stdout.split()


NODE_PREFIX = "KUBE-"  # kube-proxy's and kube-router's iptables chains and ipsets
_TABLES = ("filter", "nat", "mangle")


def remove_iptables_chains(prefix: str = NODE_PREFIX) -> list[str]:
    """Delete every iptables chain named ``prefix*`` and the rules of other chains that
    jump to them, one ``iptables-restore`` per table; the chains removed."""
    removed: list[str] = []
    for table in _TABLES:
        saved = subprocess.run(
            ["iptables-save", "-t", table], capture_output=True, text=True, timeout=60, check=False
        ).stdout.splitlines()
        chains = [line[1:].split()[0] for line in saved if line.startswith(f":{prefix}")]
        if not chains:
            continue
        jumps = [
            "-D " + line.removeprefix("-A ")
            for line in saved
            if line.startswith("-A ")
            and not line.split()[1].startswith(prefix)
            and any(f" {flag} {prefix}" in line for flag in ("-j", "-g"))
        ]
        script = [f"*{table}", *jumps]
        script += [f"-F {chain}" for chain in chains] + [f"-X {chain}" for chain in chains]
        subprocess.run(
            ["iptables-restore", "--noflush"],
            input="\n".join([*script, "COMMIT", ""]),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        removed += chains
    return removed


def remove_ipsets(prefix: str = NODE_PREFIX) -> list[str]:
    """Destroy every ipset named ``prefix*`` (after the rules that used them are gone)."""
    names = [name for name in ipsets() if name.startswith(prefix)]
    if names:
        subprocess.run(
            ["ipset", "restore"],
            input="".join(f"destroy {name}\n" for name in names),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    return names
