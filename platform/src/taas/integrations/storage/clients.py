"""The platform's S3 and admin clients on MinIO, and making a bucket once."""

from __future__ import annotations

from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider
from minio.error import S3Error

from taas.integrations.storage.errors import translate
from taas.kit.errors import PermanentError

REGION = "us-east-1"  # MinIO's default; clients skip the location lookup with it


class MinioClients:
    """S3 and admin clients with the control plane's own MinIO identity."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, *, secure: bool) -> None:
        self.endpoint = endpoint
        self.s3 = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)
        self.admin = MinioAdmin(
            endpoint=endpoint, credentials=StaticProvider(access_key, secret_key), secure=secure
        )
        self.secure = secure

    def client_for(self, access_key: str, secret_key: str) -> Minio:
        """An S3 client with the given (tenant) credentials."""
        return Minio(
            self.endpoint, access_key=access_key, secret_key=secret_key, secure=self.secure
        )

    @property
    def sts_url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"


def ensure_bucket(s3: Minio, bucket: str, *, object_lock: bool) -> bool:
    """Create ``bucket`` unless it exists; True when this call created it."""
    if translate(lambda: s3.bucket_exists(bucket), "check bucket"):
        return False
    try:
        translate(lambda: s3.make_bucket(bucket, object_lock=object_lock), "create bucket")
    except PermanentError as exc:
        cause = exc.__cause__
        if not (isinstance(cause, S3Error) and cause.code == "BucketAlreadyOwnedByYou"):
            raise
        return False
    return True
