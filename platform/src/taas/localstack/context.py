"""What every component needs: settings, paths, secrets, certificates and the step log."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from taas.kit.settings import StackSettings
from taas.localstack.paths import StackPaths
from taas.localstack.pki import LocalPki
from taas.localstack.progress import StepLog
from taas.localstack.secrets import StackSecrets


@dataclass
class StackContext:
    """Shared inputs of the local stack's components."""

    settings: StackSettings
    log: StepLog = field(default_factory=StepLog)

    @cached_property
    def paths(self) -> StackPaths:
        return StackPaths.from_settings(self.settings)

    @cached_property
    def secrets(self) -> StackSecrets:
        return StackSecrets.load_or_create(self.paths.secrets)

    @cached_property
    def pki(self) -> LocalPki:
        return LocalPki(self.paths.pki)

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def apiserver_url(self) -> str:
        return f"https://{self.host}:{self.settings.apiserver_port}"
