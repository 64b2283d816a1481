"""Where the local stack keeps builds (cache) and running state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taas.kit.errors import ConfigurationError
from taas.kit.settings import StackSettings


@dataclass(frozen=True)
class StackPaths:
    """Every path the local stack reads or writes, derived from the settings."""

    cache: Path
    state: Path

    @classmethod
    def from_settings(cls, settings: StackSettings) -> StackPaths:
        return cls(cache=settings.cache_dir.expanduser(), state=settings.state_dir.expanduser())

    def bin_dir(self, name: str, version: str) -> Path:
        """Folder holding the cached binaries of one pinned build."""
        return self.cache / "bin" / f"{name}-{version}"

    def src_dir(self, name: str, version: str) -> Path:
        """Folder of the small Go wrapper module used to build a pinned version."""
        return self.cache / "src" / f"{name}-{version}"

    @property
    def downloads(self) -> Path:
        return self.cache / "downloads"

    @property
    def build_logs(self) -> Path:
        return self.cache / "logs"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def secrets(self) -> Path:
        return self.state / "secrets.json"

    def data(self, name: str) -> Path:
        return self.state / "data" / name

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def ensure_writable(self) -> None:
        """Create the cache and state folders, or say clearly why that is impossible."""
        for label, path, var in (
            ("cache", self.cache, "TAAS_CACHE_DIR"),
            ("state", self.state, "TAAS_STATE_DIR"),
        ):
            try:
                path.mkdir(parents=True, exist_ok=True)
                probe = path / ".write-test"
                probe.write_text("ok")
                probe.unlink()
            except OSError as exc:
                raise ConfigurationError(
                    f"the {label} directory {path} is not writable ({exc.strerror})",
                    hint=f"fix its permissions, or point {var} at a writable folder",
                ) from exc
        for folder in (self.downloads, self.build_logs, self.logs, self.run, self.pki):
            folder.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o700)
