"""Images the node itself needs before any module runs: the pod sandbox (``pause``), built
from the Kubernetes source the control plane is built from, and pushed to the stack's
registry without a container engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from taas.kit.errors import ConfigurationError
from taas.kit.oci import Entry, Image, ImageConfig, RegistryClient, RegistryError, write_layer
from taas.localstack import install, versions
from taas.localstack.paths import StackPaths
from taas.localstack.progress import StepLog

PAUSE_REPOSITORY = "taas/pause"
TOOLBOX_REPOSITORY = "taas/toolbox"
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static
NOBODY = 65534


def build_pause(log: StepLog, paths: StackPaths) -> Path:
    """``pause`` compiled (static, stripped) from ``k8s.io/kubernetes``'s ``build/pause``."""
    binary = paths.bin_dir("pause", versions.KUBERNETES) / "pause"
    if binary.exists():
        return binary
    gcc = shutil.which("gcc")
    if gcc is None:
        raise ConfigurationError(
            "gcc is not on PATH; the pod sandbox (pause) is compiled from the Kubernetes source",
            hint="apt-get install -y gcc libc6-dev",
        )
    source = Path(install.module_dir(paths, "k8s.io/kubernetes", versions.KUBERNETES))
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    log.run(
        "compiling the pod sandbox (pause)",
        [
            gcc,
            "-Os",
            "-Wall",
            "-Werror",
            "-static",
            "-s",
            f"-DVERSION={versions.KUBERNETES}-taas",
            "-o",
            str(partial),
            str(source / "build" / "pause" / "linux" / "pause.c"),
        ],
        log=paths.build_logs / "pause.log",
    )
    partial.rename(binary)
    return binary


def pause_image(log: StepLog, paths: StackPaths) -> Image:
    binary = build_pause(log, paths)
    layer = write_layer([Entry("/pause", binary, mode=0o755)], paths.cache / "layers")
    return Image([layer], ImageConfig(entrypoint=["/pause"]))


def push_pause(log: StepLog, paths: StackPaths, registry: RegistryClient) -> str:
    """Push the sandbox image (a no-op when it is there); its name pinned by digest."""
    image = pause_image(log, paths)
    try:
        return registry.push(PAUSE_REPOSITORY, image, tags=[versions.KUBERNETES])
    except (RegistryError, httpx.HTTPError) as exc:
        raise ConfigurationError(
            f"could not push the pod sandbox image: {exc}",
            hint="check the registry with `taas stack status registry` and read its log",
        ) from exc


def toolbox_image(paths: StackPaths) -> Image:
    """A static busybox (sh, nc, wget, nslookup, httpd) as a non-root image: what probes
    and network tests run inside pods."""
    if not BUSYBOX.exists():
        raise ConfigurationError(
            f"{BUSYBOX} is missing; the toolbox image is made from Debian's busybox-static",
            hint="apt-get install -y busybox-static (or `taas stack install containerd`)",
        )
    layer = write_layer(
        [
            Entry("/bin", mode=0o755),
            Entry("/bin/busybox", BUSYBOX, mode=0o755),
            Entry("/bin/sh", link="busybox"),
            Entry("/tmp", mode=0o1777),  # noqa: S108 - a folder in the image (pods mount over it)
        ],
        paths.cache / "layers",
    )
    config = ImageConfig(entrypoint=["/bin/busybox"], user=f"{NOBODY}:{NOBODY}")
    return Image([layer], config)


def push_toolbox(paths: StackPaths, registry: RegistryClient) -> str:
    """Push the toolbox image; its name pinned by digest."""
    return registry.push(TOOLBOX_REPOSITORY, toolbox_image(paths), tags=["latest"])
