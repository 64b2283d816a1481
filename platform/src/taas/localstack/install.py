"""Recipes that put each server's binaries on this machine, cached and skipped when present.

Go builds go to ``<cache>/bin/<name>-<version>/`` through a ``.partial`` folder renamed
only on success, so an interrupted build never looks finished.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taas.kit.errors import ConfigurationError
from taas.localstack import versions
from taas.localstack.paths import StackPaths
from taas.localstack.progress import StepLog

POSTGRES_BIN = Path(f"/usr/lib/postgresql/{versions.POSTGRES_MAJOR}/bin")
APT_PACKAGES = {
    "postgresql": (
        POSTGRES_BIN / "postgres",
        [f"postgresql-{versions.POSTGRES_MAJOR}", f"postgresql-client-{versions.POSTGRES_MAJOR}"],
    ),
    "redis": (Path("/usr/bin/redis-server"), ["redis-server"]),
    # The real node: containerd with runc, the CNI plugins, and the tools its network needs.
    "containerd": (Path("/usr/bin/containerd"), ["containerd", "runc"]),
    "cni": (Path("/usr/lib/cni/bridge"), ["containernetworking-plugins"]),
    "netfilter": (Path("/usr/sbin/nft"), ["nftables", "iptables", "conntrack"]),
    "gcc": (Path("/usr/bin/gcc"), ["gcc", "libc6-dev"]),
    "busybox": (Path("/bin/busybox"), ["busybox-static"]),
    "ipset": (Path("/usr/sbin/ipset"), ["ipset"]),
    # Image bases (taas images build): a Debian root made without a container engine.
    "mmdebstrap": (Path("/usr/bin/mmdebstrap"), ["mmdebstrap"]),
    # The OCR module (services/taas_ocr): Tesseract with Simplified Chinese and English,
    # and the CJK fonts its synthetic test cards are rendered with.
    "tesseract": (Path("/usr/bin/tesseract"), ["tesseract-ocr", "tesseract-ocr-eng"]),
    "tesseract-chi-sim": (
        Path("/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata"),
        ["tesseract-ocr-chi-sim"],
    ),
    "fonts-noto-cjk": (
        Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
        ["fonts-noto-cjk"],
    ),
}
KUBERNETES_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE_BINARIES = ("kubelet", "kube-proxy")
KEYCLOAK_BUILD_OPTIONS = (
    "--db=postgres",
    "--health-enabled=true",
    "--metrics-enabled=true",
)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ConfigurationError(
            "the Go toolchain is not on PATH; MinIO and Kubernetes are built from Go modules",
            hint="install Go 1.26 or newer and put `go` on PATH",
        )
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True)
    match = re.match(r"go(\d+)\.(\d+)", version.stdout.strip())
    if match and (int(match[1]), int(match[2])) < (1, 26):
        raise ConfigurationError(
            f"Kubernetes {versions.KUBERNETES} needs Go 1.26 or newer, found {version.stdout}",
            hint="install a newer Go toolchain",
        )
    return go


def apt_installed(names: Sequence[str]) -> bool:
    return all(APT_PACKAGES[name][0].exists() for name in names)


def ensure_apt(log: StepLog, paths: StackPaths, names: Sequence[str]) -> None:
    """Install the Debian packages behind ``names`` that are missing."""
    missing = [
        pkg for name in names for pkg in APT_PACKAGES[name][1] if not APT_PACKAGES[name][0].exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        raise ConfigurationError(
            f"Debian packages {', '.join(missing)} are missing and this user cannot install them",
            hint=f"run: sudo apt-get install -y {' '.join(missing)}",
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt_log = paths.build_logs / "apt.log"
    log.run("apt-get update", ["apt-get", "update"], log=apt_log, env=env)
    log.run(
        f"apt-get install {' '.join(missing)}",
        ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        log=apt_log,
        env=env,
    )


def _go_env(paths: StackPaths, bin_dir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=mod"}
    if bin_dir is not None:
        env["GOBIN"] = str(bin_dir)
    return env


def _finish(partial: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)


def _built(folder: Path, binaries: Sequence[str]) -> bool:
    return all((folder / name).is_file() for name in binaries)


def _module_info(paths: StackPaths, module: str, version: str) -> dict[str, Any]:
    """``go mod download -json module@version``: where the module's files and go.mod are."""
    info = subprocess.run(
        [_go(), "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        env=_go_env(paths),
        check=False,
    )
    if info.returncode != 0:
        raise ConfigurationError(
            f"could not download {module}@{version}: {info.stdout or info.stderr}",
            hint="check that the Go module proxy is reachable (go env GOPROXY)",
        )
    found: dict[str, Any] = json.loads(info.stdout)
    return found


def module_dir(paths: StackPaths, module: str, version: str) -> str:
    """The folder of a downloaded Go module's files (downloaded on first use)."""
    return str(_module_info(paths, module, version)["Dir"])


def _kubernetes_wrapper(name: str, upstream: dict[str, Any]) -> str:
    """The wrapper's go.mod: each staging module Kubernetes replaces with a local folder
    points at its published twin instead."""
    upstream_mod = Path(upstream["GoMod"]).read_text()
    staging = sorted(
        set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", upstream_mod, re.M))
    )
    replaces = "\n".join(f"\t{mod} => {mod} {versions.KUBERNETES_STAGING}" for mod in staging)
    return f"module taas.local/build/{name}\n\ngo 1.26.0\n\nreplace (\n{replaces}\n)\n"


def build_kubernetes(
    log: StepLog,
    paths: StackPaths,
    name: str = "kubernetes",
    binaries: Sequence[str] = KUBERNETES_BINARIES,
) -> Path:
    """Binaries of ``k8s.io/kubernetes`` (the control plane unless told; the node's
    kubelet and kube-proxy are a second build, ``kubernetes-node``, of the same wrapper).

    ``go install k8s.io/kubernetes/...@v`` is refused because that module replaces its
    staging modules with local folders, so a small wrapper module requires it and points
    each staging module at its published ``v0.x`` twin instead.
    """
    version = versions.KUBERNETES
    final = paths.bin_dir(name, version)
    if _built(final, binaries):
        return final
    go = _go()
    env = _go_env(paths)
    src = paths.src_dir(name, version)
    src.mkdir(parents=True, exist_ok=True)
    build_log = paths.build_logs / f"{name}-{version}.log"
    (src / "go.mod").write_text(
        _kubernetes_wrapper(name, _module_info(paths, "k8s.io/kubernetes", version))
    )
    packages = [f"k8s.io/kubernetes/cmd/{binary}" for binary in binaries]
    log.run(
        f"fetching Kubernetes {version} modules",
        [go, "get", *(f"{pkg}@{version}" for pkg in packages)],
        log=build_log,
        cwd=src,
        env=env,
    )
    partial = final.with_name(final.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    stamp = "k8s.io/component-base/version"
    minor = version.split(".")[1]
    ldflags = (
        f"-s -w -X {stamp}.gitVersion={version} -X {stamp}.gitMajor=1 "
        f"-X {stamp}.gitMinor={minor} -X {stamp}.gitTreeState=clean"
    )
    log.run(
        f"building Kubernetes {version} {', '.join(binaries)} (first time ~4-8 min, cached after)",
        [go, "build", "-trimpath", "-ldflags", ldflags, "-o", f"{partial}/", *packages],
        log=build_log,
        cwd=src,
        env=env,
        hint=f"read {build_log}; the build needs 3-5 GB of free memory",
    )
    _finish(partial, final)
    return final


def build_etcd(log: StepLog, paths: StackPaths) -> Path:
    """etcd built from ``go.etcd.io/etcd/server/v3`` inside a wrapper module."""
    return build_in_wrapper(log, paths, "etcd", "go.etcd.io/etcd/server/v3", versions.ETCD)


def build_in_wrapper(
    log: StepLog,
    paths: StackPaths,
    name: str,
    package: str,
    version: str,
    *,
    upgrades: Sequence[str] = (),
) -> Path:
    """Build ``package`` (from its module at ``version``) as the binary ``name`` inside a
    wrapper module (for modules ``go install`` refuses), raising the dependencies
    ``upgrades`` to their newest releases (for a pinned release whose own dependency list
    carries reported vulnerabilities)."""
    final = paths.bin_dir(name, version)
    if _built(final, [name]):
        return final
    go = _go()
    env = _go_env(paths)
    src = paths.src_dir(name, version)
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(f"module taas.local/build/{name}\n\ngo 1.26.0\n")
    build_log = paths.build_logs / f"{name}-{version}.log"
    log.run(
        f"fetching {name} {version}" + (f" and newer {', '.join(upgrades)}" if upgrades else ""),
        [go, "get", f"{package}@{version}", *(f"{module}@latest" for module in upgrades)],
        log=build_log,
        cwd=src,
        env=env,
    )
    partial = final.with_name(final.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    log.run(
        f"building {name} {version} (first time a few minutes)",
        [go, "build", "-trimpath", "-ldflags", "-s -w", "-o", f"{partial}/{name}", package],
        log=build_log,
        cwd=src,
        env=env,
    )
    _finish(partial, final)
    return final


def go_install(
    log: StepLog,
    paths: StackPaths,
    name: str,
    package: str,
    version: str,
    *,
    binary: str | None = None,
) -> Path:
    """``go install package@version`` into the cache (modules without replace directives),
    the binary renamed to ``binary`` when the package's folder name is not a good one."""
    built_as = package.rsplit("/", 1)[-1]
    binary = binary or built_as
    final = paths.bin_dir(name, version)
    if _built(final, [binary]):
        return final
    go = _go()
    partial = final.with_name(final.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    log.run(
        f"building {name} {version} from its Go module (first time a few minutes)",
        [go, "install", "-trimpath", "-ldflags", "-s -w", f"{package}@{version}"],
        log=paths.build_logs / f"{name}-{version}.log",
        env=_go_env(paths, partial),
    )
    if binary != built_as:
        (partial / built_as).rename(partial / binary)
    _finish(partial, final)
    return final


def find_java() -> Path:
    """JAVA_HOME for Keycloak: ``TAAS_JAVA_HOME``, else the newest Temurin, else the newest JDK."""
    configured = os.environ.get("TAAS_JAVA_HOME")
    if configured:
        home = Path(configured)
        if not (home / "bin" / "java").exists():
            raise ConfigurationError(
                f"TAAS_JAVA_HOME={configured} has no bin/java",
                hint="point TAAS_JAVA_HOME at a JDK 17 or newer (21 or 25 preferred)",
            )
        return home
    jvm = Path("/usr/lib/jvm")
    candidates = sorted(jvm.glob("temurin-*"), key=_jdk_major, reverse=True)
    candidates += sorted(
        (p for p in jvm.glob("*") if not p.is_symlink() and p not in candidates),
        key=_jdk_major,
        reverse=True,
    )
    for home in candidates:
        if (home / "bin" / "java").exists() and _jdk_major(home) >= 17:
            return home
    raise ConfigurationError(
        "no JDK 17 or newer found for Keycloak",
        hint="install one (apt-get install -y openjdk-17-jdk-headless) or set TAAS_JAVA_HOME",
    )


def _jdk_major(home: Path) -> int:
    match = re.search(r"(?:jdk|java|temurin)-(\d+)", home.name)
    return int(match[1]) if match else 0


def keycloak_home(paths: StackPaths) -> Path:
    return paths.cache / f"keycloak-{versions.KEYCLOAK}"


def install_keycloak(log: StepLog, paths: StackPaths) -> Path:
    """Download the Keycloak distribution from Maven Central, unpack it and ``kc.sh build`` it."""
    home = keycloak_home(paths)
    marker = home / ".taas-build"
    wanted = " ".join(KEYCLOAK_BUILD_OPTIONS)
    if marker.exists() and marker.read_text() == wanted:
        return home
    archive = paths.downloads / f"keycloak-quarkus-dist-{versions.KEYCLOAK}.tar.gz"
    build_log = paths.build_logs / f"keycloak-{versions.KEYCLOAK}.log"
    if not archive.exists():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ConfigurationError(
                "Maven (mvn) is not on PATH; Keycloak comes from Maven Central",
                hint="apt-get install -y maven",
            )
        log.run(
            f"downloading Keycloak {versions.KEYCLOAK} from Maven Central",
            [
                mvn,
                "-B",
                "-q",
                f"org.apache.maven.plugins:maven-dependency-plugin:"
                f"{versions.MAVEN_DEPENDENCY_PLUGIN}:copy",
                f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{versions.KEYCLOAK}:tar.gz",
                f"-DoutputDirectory={paths.downloads}",
            ],
            log=build_log,
        )
    if not (home / "bin" / "kc.sh").exists():
        with log.step(f"unpacking Keycloak {versions.KEYCLOAK}"):
            staging = home.with_name(home.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
            (inner,) = list(staging.iterdir())
            if home.exists():
                shutil.rmtree(home)
            inner.rename(home)
            shutil.rmtree(staging)
    java_home = find_java()
    log.run(
        f"building Keycloak {versions.KEYCLOAK} for PostgreSQL (kc.sh build, once)",
        [str(home / "bin" / "kc.sh"), "build", *KEYCLOAK_BUILD_OPTIONS],
        log=build_log,
        env={**os.environ, "JAVA_HOME": str(java_home)},
    )
    marker.write_text(wanted)
    return home


KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


def kwok_stages(paths: StackPaths) -> Path:
    """The kwok Stage definitions shipped in the kwok module (node and pod lifecycles).

    kwok refuses to start without stages; the module carries the upstream "fast"
    lifecycles, which we gather once into ``stages.yaml`` beside the binary.
    """
    target = paths.bin_dir("kwok", versions.KWOK) / "stages.yaml"
    if target.exists():
        return target
    module = _module_info(paths, "sigs.k8s.io/kwok", versions.KWOK)
    stage_dir = Path(module["Dir"]) / "kustomize" / "stage"
    documents = [(stage_dir / name).read_text().strip() for name in KWOK_STAGES]
    target.write_text("\n---\n".join(documents) + "\n")
    return target
