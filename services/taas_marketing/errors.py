"""Typed errors of the marketing module; the app turns each into application/problem+json."""

from __future__ import annotations

from typing import Any


class MarketingError(Exception):
    """Base: an HTTP status, a sentence saying what is wrong, and what to do about it."""

    status = 400

    def __init__(self, detail: str, *, hint: str | None = None, errors: list[str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.hint = hint
        self.errors = errors or []

    def problem(self) -> dict[str, Any]:
        """The problem+json fields beyond ``type``/``title``/``status``."""
        body: dict[str, Any] = {"detail": self.detail}
        if self.hint:
            body["hint"] = self.hint
        if self.errors:
            body["errors"] = self.errors
        return body


class InvalidFile(MarketingError):
    """The uploaded file is not a usable transactions CSV."""

    status = 422


class FileTooLarge(MarketingError):
    """The uploaded file is over the module's size or row limit."""

    status = 413


class NotFound(MarketingError):
    """No such job (for this tenant) or no such uploaded object."""

    status = 404


class TooManyJobs(MarketingError):
    """The tenant (or the module as a whole) already has as many jobs in flight as allowed."""

    status = 429


class Conflict(MarketingError):
    """The request contradicts an earlier one (an idempotency key reused for other work)."""

    status = 409
