"""The one error base class of TaaS.

Every error meant for a person carries what went wrong and what to do next, so the
command line and (later) the API can show it as is.
"""

from __future__ import annotations

from typing import Any


class TaasError(Exception):
    """An error with a message for people and, where known, the next step to take."""

    def __init__(self, message: str, *, hint: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.extra = extra  # more fields for the problem+json body (e.g. ``errors``)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  next: {self.hint}"
        return self.message


class ConfigurationError(TaasError):
    """A setting is missing, invalid or points somewhere unusable."""


class NotFound(TaasError):
    """The named thing does not exist."""


class Conflict(TaasError):
    """The request clashes with the current state (a port taken, a transition not allowed)."""


class Unprocessable(TaasError):
    """The request is well-formed but cannot be carried out as asked."""


class Unauthorized(TaasError):
    """No valid credentials."""


class Forbidden(TaasError):
    """Valid credentials, but not allowed to do this."""


class TemporaryError(TaasError):
    """A failure worth retrying after ``delay`` seconds."""

    def __init__(self, message: str, *, delay: float = 1.0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.delay = delay


class PermanentError(TaasError):
    """A failure that retrying will not fix; a person has to act on the hint."""
