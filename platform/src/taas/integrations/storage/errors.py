"""MinIO's failures as retry-aware errors: unreachable or busy means try again, a refusal
is permanent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import urllib3
from minio.error import MinioAdminException, S3Error

from taas.kit.errors import PermanentError, TemporaryError

T = TypeVar("T")


def translate(call: Callable[[], T], what: str) -> T:
    """Run one S3 or admin call, turning its failure into a retry-aware error."""
    try:
        return call()
    except S3Error as exc:
        raise s3_failure(exc, what) from exc
    except MinioAdminException as exc:
        if str(exc).startswith("admin request failed; Status: 5"):
            raise TemporaryError(f"MinIO admin {what}: {exc}", delay=2) from exc
        raise PermanentError(f"MinIO admin refused {what}: {exc}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TemporaryError(f"MinIO unreachable during {what}: {exc}", delay=2) from exc


def reachable(call: Callable[[], T], what: str = "") -> T:
    """Run ``call``, turning only a failure to reach MinIO into a ``TemporaryError``."""
    try:
        return call()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        during = f" during {what}" if what else ""
        raise TemporaryError(f"MinIO unreachable{during}: {exc}", delay=2) from exc


def s3_failure(exc: S3Error, what: str) -> TemporaryError | PermanentError:
    if exc.code in (
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "XMinioServerNotInitialized",
    ):
        return TemporaryError(f"MinIO {what}: {exc.code}", delay=2)
    return PermanentError(f"MinIO refused {what}: {exc.code} {exc.message}")


def admin_missing(exc: MinioAdminException) -> bool:
    """Whether MinIO's admin API refused because the user (or policy) does not exist."""
    text = str(exc)
    return "Status: 404" in text or "NoSuchUser" in text or "XMinioAdminNoSuchUser" in text
