"""The workspace's distributions match their users.

Each member of the workspace (``[tool.uv.workspace]`` in the root pyproject.toml) is its
own distribution: the platform (``taas``), the module SDK (``taas-sdk``, what a vendor
installs) and one per reference module. Here: every library a member's code imports is
declared by that member; the SDK pulls in nothing of the control plane or of the
modules' heavy libraries; and the SDK installed alone in a clean virtualenv is enough to
run the example plugin's tests.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
SDK = "taas-sdk"
# What a vendor must never get by installing the SDK: the control plane, the modules
# and the libraries only they need.
NOT_FOR_VENDORS = {
    "taas", "taas-risk", "taas-marketing", "taas-ocr", "kubernetes", "opencv-python",
    "opencv-python-headless", "opencv-contrib-python", "scikit-learn", "celery",
    "sqlalchemy", "psycopg", "python-keycloak", "alembic", "pandas", "numpy",
}  # fmt: skip


@dataclass(frozen=True)
class Member:
    """One workspace member: its directory and the ``[project]`` of its pyproject.toml."""

    directory: Path
    pyproject: dict[str, Any]

    @property
    def name(self) -> str:
        return canonicalize_name(self.pyproject["project"]["name"])

    def declared(self) -> set[str]:
        """Distributions it depends on, in its dependencies or any of its extras."""
        project = self.pyproject["project"]
        extras = project.get("optional-dependencies", {}).values()
        texts = [*project.get("dependencies", []), *(text for extra in extras for text in extra)]
        return {canonicalize_name(Requirement(text).name) for text in texts}

    def packages(self) -> dict[str, Path]:
        """Its top-level import packages and where their source is."""
        setuptools = self.pyproject.get("tool", {}).get("setuptools", {})
        if "package-dir" in setuptools:
            return {
                package: (self.directory / path).resolve()
                for package, path in setuptools["package-dir"].items()
            }
        found: dict[str, Path] = {}
        find = setuptools["packages"]["find"]
        for where in find["where"]:
            for init in sorted((self.directory / where).glob("*/__init__.py")):
                if any(fnmatch.fnmatch(init.parent.name, p) for p in find["include"]):
                    found[init.parent.name] = init.parent
        return found


def members() -> list[Member]:
    return [
        Member(ROOT / path, tomllib.loads((ROOT / path / "pyproject.toml").read_text()))
        for path in WORKSPACE["tool"]["uv"]["workspace"]["members"]
    ]


def first_party() -> dict[str, str]:
    """Import package -> the member distribution that ships it."""
    return {package: member.name for member in members() for package in member.packages()}


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Absolute module names a file imports (``from a import b`` gives ``a.b``), and the
    packages whose data it reads with ``resources.files("name")``."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "files"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


@cache
def _top_level() -> dict[str, list[str]]:
    return {name: list(dists) for name, dists in metadata.packages_distributions().items()}


@cache
def _owns(distribution: str, path: str) -> bool:
    files = metadata.distribution(distribution).files or []
    return any(str(file).startswith(f"{path}/") or str(file) == f"{path}.py" for file in files)


def distributions_of(module: str) -> set[str]:
    """The installed distributions that may provide ``module``: one, except for a
    namespace package shared by several (``opentelemetry``), narrowed by their files."""
    parts = module.split(".")
    candidates = _top_level().get(parts[0], [])
    for length in range(len(parts), 1, -1):
        path = "/".join(parts[:length])
        owners = {name for name in candidates if _owns(name, path)}
        if owners:
            return {canonicalize_name(name) for name in owners}
    return {canonicalize_name(name) for name in candidates}


def undeclared(sources: list[Path], own: set[str], declared: set[str]) -> list[str]:
    """``file:line imports module`` for each import that ``declared`` does not cover."""
    packages = first_party()
    missing = []
    for source in sources:
        for line, module in imported(source):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in own:
                continue
            provided = {packages[top]} if top in packages else distributions_of(module)
            if not provided & declared:
                where = f"{source.relative_to(ROOT)}:{line}"
                missing.append(f"{where} imports {module} ({' or '.join(provided) or '?'})")
    return missing


@pytest.mark.parametrize("member", members(), ids=lambda member: member.name)
def test_every_library_a_member_imports_is_declared_by_it(member: Member) -> None:
    packages = member.packages()
    assert packages, f"{member.directory}: no package found"
    sources = sorted(
        path
        for source in packages.values()
        for path in source.rglob("*.py")
        if "build" not in path.relative_to(source).parts  # left by a non-editable install
    )
    missing = undeclared(sources, set(packages), member.declared())
    where = member.directory.relative_to(ROOT) / "pyproject.toml"
    assert not missing, f"declare these in {where}:\n" + "\n".join(missing)


def test_every_subpackage_of_a_flat_member_is_listed_for_its_wheel() -> None:
    """A member whose folder is its package lists its packages by hand (setuptools finds
    none there): a new subpackage left off the list would be missing from the wheel."""
    for member in members():
        setuptools = member.pyproject["tool"]["setuptools"]
        if "package-dir" not in setuptools:
            continue
        found = {
            ".".join((package, *init.parent.relative_to(source).parts))
            for package, source in member.packages().items()
            for init in source.rglob("__init__.py")
            if "build" not in init.relative_to(source).parts
        }
        assert set(setuptools["packages"]) == found, member.directory


def test_every_library_the_tests_and_benchmarks_import_is_in_the_workspace() -> None:
    folders = [ROOT / "tests", ROOT / "benchmarks"]
    own = {path.stem for folder in folders for path in folder.iterdir()}
    declared: set[str] = {
        canonicalize_name(Requirement(text).name) for text in WORKSPACE["dependency-groups"]["dev"]
    }
    for member in members():
        declared |= member.declared() | {member.name}
    sources = sorted(path for folder in folders for path in folder.rglob("*.py"))
    missing = undeclared(sources, own, declared)
    assert not missing, "declare these in the dev group of pyproject.toml:\n" + "\n".join(missing)


def _requirements(distribution: str, extras: frozenset[str]) -> Iterator[Requirement]:
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""}):
            yield requirement


def installed_closure(distribution: str) -> set[str]:
    """``distribution`` and everything it pulls in, as installed here (extras followed)."""
    seen: set[str] = set()
    todo = [(distribution, frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        key = f"{canonicalize_name(name)}{sorted(extras)}"
        if key in seen:
            continue
        seen.add(key)
        for requirement in _requirements(name, extras):
            todo.append((requirement.name, frozenset(requirement.extras)))
    return {key.split("[")[0] for key in seen}


def test_the_sdk_pulls_in_nothing_of_the_control_plane_or_the_modules() -> None:
    (sdk,) = (member for member in members() if member.name == SDK)
    assert not sdk.declared() & NOT_FOR_VENDORS
    assert not installed_closure(SDK) & NOT_FOR_VENDORS


def test_the_closure_follows_extras_and_markers() -> None:
    closure = installed_closure("taas")
    assert {"taas-sdk", "kubernetes", "uvloop", "psycopg-binary"} <= closure
    assert "taas-ocr" not in closure  # only with the platform's `demo` extra


def _clean_env(venv: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAAS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_sdk_alone_runs_the_example_plugins_tests(tmp_path: Path) -> None:
    """What a vendor does: a new virtualenv, ``pip install`` of the SDK (not editable,
    no extras) and pytest, then the example plugin's tests, outside this checkout."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(ROOT / "services" / "taas_sdk", tmp_path / "taas_sdk", ignore=ignore)
    vendor = tmp_path / "vendor"
    for path in ("services/example_plugin/app.py", "tests/services/example_plugin/test_app.py"):
        (vendor / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, vendor / path)
    (vendor / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    env = _clean_env(venv)

    def run(*argv: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(sys.executable, "-m", "venv", str(venv))
    constraints = str(ROOT / "constraints.txt")
    run(python, "-m", "pip", "install", "--quiet", "-c", constraints, "./taas_sdk", "pytest")
    listed = json.loads(run(python, "-m", "pip", "list", "--format", "json"))
    installed = {canonicalize_name(entry["name"]) for entry in listed}
    assert SDK in installed
    assert not installed & NOT_FOR_VENDORS
    report = run(python, "-m", "pytest", "-q", "-W", "error", cwd=vendor)
    assert " passed" in report
    assert "failed" not in report
