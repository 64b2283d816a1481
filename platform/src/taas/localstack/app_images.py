"""The images of the platform, the reference modules and the example plugin, built from the
checkout without a container engine and pushed to the stack's registry by content digest.

Each image is three layers:

1. **base**: a Debian bookworm root made by ``mmdebstrap`` (``essential`` variant with
   Python 3.11's minimal interpreter and standard library, CA certificates, time zones, and
   the Debian packages an image asks for, such as Tesseract for OCR); cached by its
   package list, so it is built once per machine;
2. **dependencies**: the third-party Python packages of the image, installed by ``uv``
   under the same pins as the development environment (``constraints.txt``); cached by
   the exact set of distributions installed;
3. **app**: the checkout's own packages (``taas``, ``taas_sdk``, a module), compiled to
   byte code that is checked by hash, not by file time (the root filesystem is read-only).

Images run as ``nobody`` with ``HOME=/tmp`` (pods mount a scratch volume there).
"""

from __future__ import annotations

import compileall
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from py_compile import PycInvalidationMode

from taas.kit.errors import ConfigurationError
from taas.kit.oci import Entry, Image, ImageConfig, Layer, RegistryClient, tree_entries, write_layer
from taas.localstack.paths import StackPaths
from taas.localstack.progress import StepLog

NOBODY = 65534
PORT = 8080  # what every module and plugin image listens on
SITE = "/opt/taas/lib"  # PYTHONPATH of every image
APP = "/opt/taas/app"  # scripts that are not packages (the example plugin)
PYTHON = "/usr/bin/python3.11"
# The interpreter the base's Debian release ships: dependencies are resolved for it, not for
# the Python that builds the image (markers such as ``python_full_version < "3.11.3"``).
IMAGE_PYTHON_VERSION = "3.11.2"
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")  # this machine's mirrors
BASE_PACKAGES = (
    *("python3.11-minimal", "libpython3.11-stdlib", "ca-certificates", "tzdata"),
    *("libstdc++6", "libgomp1"),  # what manylinux wheels (numpy, scikit-learn) expect
)
DROPPED = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")


@dataclass(frozen=True)
class Recipe:
    """One image: what to install from the checkout and how it starts."""

    name: str  # the repository below ``taas/``
    distributions: tuple[str, ...]  # checkout folders installed with their dependencies
    own: tuple[str, ...]  # top-level packages (and their dist-info) that form the app layer
    command: tuple[str, ...]  # arguments after the interpreter
    apt: tuple[str, ...] = ()  # Debian packages added to the base
    scripts: tuple[str, ...] = ()  # checkout files copied to APP
    requirements: tuple[str, ...] = ()  # extra requirements (a script's imports)
    port: int | None = PORT

    @property
    def repository(self) -> str:
        return f"taas/{self.name}"


def _module(name: str, package: str, apt: tuple[str, ...] = ()) -> Recipe:
    return Recipe(
        name=name,
        distributions=("services/taas_sdk", f"services/{package}"),
        own=("taas_sdk", package),
        command=("-m", f"{package}.app", "--host", "0.0.0.0", "--port", str(PORT)),  # noqa: S104 - inside the pod's own network namespace
        apt=apt,
    )


_PLATFORM = ("services/taas_sdk", "platform")
_PLATFORM_OWN = ("taas", "taas_sdk")
RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="api",
        distributions=_PLATFORM,
        own=_PLATFORM_OWN,
        command=("-m", "uvicorn", "taas.api.app:app", "--host", "0.0.0.0", "--port", str(PORT)),  # noqa: S104
    ),
    Recipe(
        name="worker",
        distributions=_PLATFORM,
        own=_PLATFORM_OWN,
        command=("-m", "celery", "-A", "taas.worker", "worker", "--concurrency", "2"),
        port=None,
    ),
    Recipe(
        name="gateway",
        distributions=_PLATFORM,
        own=_PLATFORM_OWN,
        command=(
            *("-m", "uvicorn", "taas.gateway.app:create_app", "--factory", "--port", str(PORT)),
            *("--host", "0.0.0.0", "--loop", "uvloop", "--http", "httptools", "--no-access-log"),  # noqa: S104
        ),
    ),
    _module("risk", "taas_risk"),
    _module("marketing", "taas_marketing"),
    _module("ocr", "taas_ocr", apt=("tesseract-ocr", "tesseract-ocr-chi-sim", "tesseract-ocr-eng")),
    Recipe(
        name="example-plugin",
        distributions=(),
        own=(),
        command=(f"{APP}/app.py", "--host", "0.0.0.0", "--port", str(PORT)),  # noqa: S104
        scripts=("services/example_plugin/app.py",),
        requirements=("fastapi", "uvicorn", "pydantic"),
    ),
)


def recipe(name: str) -> Recipe:
    for one in RECIPES:
        if one.name == name:
            return one
    known = ", ".join(one.name for one in RECIPES)
    raise ConfigurationError(f"no image is named {name!r}", hint=f"images: {known}")


@dataclass(frozen=True)
class Built:
    """An image pushed: its name pinned by digest, and its size."""

    recipe: Recipe
    reference: str  # registry/taas/name@sha256:...
    compressed_bytes: int


class ImageBuilder:
    """Builds the recipes' layers (cached) and pushes the images."""

    def __init__(self, log: StepLog, paths: StackPaths, checkout: Path) -> None:
        self.log = log
        self.paths = paths
        self.checkout = checkout
        self.blobs = paths.cache / "layers"
        self.index = paths.cache / "images"

    # --------------------------------------------------------------------- cache

    def _cached(self, kind: str, key: str, build: Callable[[], Layer]) -> Layer:
        record = self.index / f"{kind}-{key}.json"
        if record.exists():
            saved = json.loads(record.read_text())
            layer = Layer(Path(saved["path"]), saved["digest"], saved["diff_id"], saved["size"])
            if layer.path.exists():
                return layer
        layer = build()
        record.parent.mkdir(parents=True, exist_ok=True)
        saved = {"path": str(layer.path), "digest": layer.digest, "diff_id": layer.diff_id}
        record.write_text(json.dumps({**saved, "size": layer.size}))
        return layer

    # --------------------------------------------------------------------- base

    def base(self, apt: Sequence[str]) -> Layer:
        packages = (*BASE_PACKAGES, *sorted(apt))
        key = hashlib.sha256(" ".join(packages).encode()).hexdigest()[:16]
        return self._cached("base", key, lambda: self._debootstrap(packages))

    def _debootstrap(self, packages: Sequence[str]) -> Layer:
        tool = shutil.which("mmdebstrap")
        if tool is None:
            raise ConfigurationError(
                "mmdebstrap is not on PATH; image bases are Debian roots it makes",
                hint="apt-get install -y mmdebstrap",
            )
        with tempfile.TemporaryDirectory(prefix="taas-base-") as work:
            root = Path(work) / "root"
            argv = [tool, "--variant=essential", "--mode=root", "--quiet"]
            argv += [f"--include={','.join(packages)}"]
            argv += [f"--dpkgopt=path-exclude={pattern}" for pattern in DROPPED]
            argv += ["bookworm", str(root), str(DEBIAN_SOURCES)]
            self.log.run(
                f"a Debian base with {', '.join(packages[len(BASE_PACKAGES) :]) or 'Python'}",
                argv,
                log=self.paths.build_logs / "image-base.log",
            )
            for scratch in ("dev", "proc", "sys", "run", "tmp", "var/cache/apt", "var/lib/apt"):
                _empty(root / scratch)
            return write_layer(tree_entries(root, "/"), self.blobs)

    # --------------------------------------------------------------------- python

    def _install(self, one: Recipe, target: Path) -> None:
        beside = Path(sys.executable).parent / "uv"  # the dev tools' uv (the venv's)
        uv = str(beside) if beside.exists() else shutil.which("uv")
        if uv is None:
            raise ConfigurationError("uv is not installed", hint="run `make setup`")
        argv = [uv, "pip", "install", "--quiet", "--no-sources", "--target", str(target)]
        argv += ["--python", "3.11", "--python-version", IMAGE_PYTHON_VERSION]
        argv += ["--constraints", str(self.checkout / "constraints.txt")]
        argv += [str(self.checkout / folder) for folder in one.distributions]
        argv += list(one.requirements)
        self.log.run(
            f"Python packages of {one.repository}",
            argv,
            log=self.paths.build_logs / f"image-{one.name}.log",
        )
        compileall.compile_dir(
            target,
            quiet=2,
            workers=0,
            invalidation_mode=PycInvalidationMode.UNCHECKED_HASH,
        )

    def python_layers(self, one: Recipe) -> tuple[Layer, Layer]:
        """The dependencies layer (cached by the distributions installed) and the app
        layer (the checkout's own packages and scripts)."""
        with tempfile.TemporaryDirectory(prefix=f"taas-image-{one.name}-") as work:
            site = Path(work) / "site"
            site.mkdir()
            if one.distributions or one.requirements:
                self._install(one, site)
            shutil.rmtree(site / "bin", ignore_errors=True)
            own = [path for path in sorted(site.iterdir()) if _is_own(path.name, one.own)]
            app = Path(work) / "app"
            app.mkdir()
            for path in own:
                path.rename(app / path.name)
            dists = sorted(path.name for path in site.glob("*.dist-info"))
            key = hashlib.sha256("\n".join(dists).encode()).hexdigest()[:16]
            deps = self._cached(
                "deps", key, lambda: write_layer(tree_entries(site, SITE), self.blobs)
            )
            entries = tree_entries(app, SITE)
            if one.scripts:
                entries.append(Entry("/opt/taas", mode=0o755))
                entries.append(Entry(APP, mode=0o755))
                for script in one.scripts:
                    source = self.checkout / script
                    entries.append(Entry(f"{APP}/{source.name}", source, mode=0o644))
            return deps, write_layer(entries, self.blobs)

    # --------------------------------------------------------------------- images

    def image(self, one: Recipe) -> Image:
        deps, app = self.python_layers(one)
        config = ImageConfig(
            entrypoint=[PYTHON],
            cmd=list(one.command),
            user=f"{NOBODY}:{NOBODY}",
            env={
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "PYTHONPATH": SITE,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
                "HOME": "/tmp",  # noqa: S108 - a scratch volume in the pod
            },
            ports=[one.port] if one.port else [],
            labels={"org.opencontainers.image.title": one.repository},
        )
        return Image([self.base(one.apt), deps, app], config)

    def push(self, one: Recipe, registry: RegistryClient) -> Built:
        image = self.image(one)
        return Built(
            recipe=one,
            reference=registry.push(one.repository, image, tags=[image.digest[7:19]]),
            compressed_bytes=image.size,
        )


def checkout() -> Path:
    """The checkout these images are built from (the one this package is installed from)."""
    root = Path(__file__).resolve().parents[4]
    if not (root / "constraints.txt").exists() or not (root / "services").is_dir():
        raise ConfigurationError(
            f"{root} is not a TaaS checkout: images are built from the source tree",
            hint="run `taas images build` from an editable install (`make setup`)",
        )
    return root


def record(paths: StackPaths) -> Path:
    """Where the last build's references are kept (name -> reference by digest)."""
    return paths.state / "images.json"


def save(paths: StackPaths, built: Sequence[Built]) -> None:
    path = record(paths)
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update({one.recipe.name: one.reference for one in built})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")


def reference(paths: StackPaths, name: str) -> str:
    """The image ``name`` as last pushed, pinned by digest."""
    path = record(paths)
    known = json.loads(path.read_text()) if path.exists() else {}
    if name not in known:
        raise ConfigurationError(
            f"the image {name!r} has not been built in this stack",
            hint=f"run `taas images build {name}`",
        )
    return str(known[name])


def _is_own(name: str, own: Sequence[str]) -> bool:
    base = name.split("-", 1)[0].split(".", 1)[0] if name.endswith(".dist-info") else name
    return base.replace("-", "_") in own


def _empty(folder: Path) -> None:
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
