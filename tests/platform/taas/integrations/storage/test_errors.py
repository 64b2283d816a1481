"""How MinIO's failures become retry-aware errors (no server)."""

from __future__ import annotations

import pytest
import urllib3
from minio.error import MinioAdminException, S3Error

from taas.integrations.storage.errors import admin_missing, reachable, translate
from taas.kit.errors import PermanentError, TemporaryError


def _raise(exc: Exception) -> None:
    raise exc


def _s3(code: str) -> S3Error:
    response = urllib3.HTTPResponse(status=503)
    return S3Error(response, code, "message", "/bucket", None, None)


@pytest.mark.parametrize("code", ["SlowDown", "ServiceUnavailable", "InternalError"])
def test_a_busy_server_is_temporary(code: str) -> None:
    with pytest.raises(TemporaryError, match=code):
        translate(lambda: _raise(_s3(code)), "create bucket")


def test_a_refusal_is_permanent() -> None:
    with pytest.raises(PermanentError, match="MinIO refused create bucket: AccessDenied"):
        translate(lambda: _raise(_s3("AccessDenied")), "create bucket")


def test_the_admin_api_failing_is_temporary_and_refusing_is_permanent() -> None:
    with pytest.raises(TemporaryError):
        translate(lambda: _raise(MinioAdminException("503", "down")), "add user")
    with pytest.raises(PermanentError):
        translate(lambda: _raise(MinioAdminException("403", "denied")), "add user")


def test_unreachable_is_temporary_and_only_that_is_translated() -> None:
    with pytest.raises(TemporaryError, match="MinIO unreachable during mint"):
        reachable(lambda: _raise(ConnectionRefusedError("refused")), "mint")
    with pytest.raises(TemporaryError, match="MinIO unreachable: "):
        reachable(lambda: _raise(urllib3.exceptions.ProtocolError("reset")))
    with pytest.raises(S3Error):
        reachable(lambda: _raise(_s3("AccessDenied")))


def test_a_missing_user_is_told_apart_from_a_refusal() -> None:
    assert admin_missing(MinioAdminException("404", "XMinioAdminNoSuchUser"))
    assert not admin_missing(MinioAdminException("403", "AccessDenied"))
