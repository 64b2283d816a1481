"""The audit chain's outside anchor: a MinIO bucket under object lock in compliance mode.

Objects written here cannot be deleted or overwritten until their retention ends, by
anyone, the root account included: a PUT to an existing name only adds a version, a
DELETE without a version only adds a delete marker, and deleting a locked version is
refused. Readers therefore list every version and ignore delete markers.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache

from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.retention import Retention

from taas.integrations.storage.clients import ensure_bucket
from taas.integrations.storage.errors import translate
from taas.kit.errors import PermanentError
from taas.kit.settings import app_settings


@dataclass(frozen=True)
class StoredObject:
    """One version of one object."""

    key: str
    version_id: str


class CheckpointStore:
    """Write-once objects in one bucket created with object lock (compliance mode)."""

    def __init__(self, s3: Minio, bucket: str, retention_days: int) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.retention_days = retention_days
        self._ready = False

    def ensure_bucket(self) -> list[str]:
        """Create the bucket with object lock and a compliance-mode default retention, or
        check an existing one has them; return what changed. Safe to run again."""
        changes: list[str] = []
        bucket = self.bucket
        if ensure_bucket(self.s3, bucket, object_lock=True):
            changes.append(f"created bucket {bucket} with object lock")
        try:
            current = self.s3.get_object_lock_config(bucket)
        except S3Error as exc:
            raise PermanentError(
                f"bucket {bucket} exists without object lock, so it cannot anchor the audit "
                "chain (object lock can only be chosen when a bucket is created)",
                hint="set TAAS_AUDIT_CHECKPOINT_BUCKET to a new bucket name",
            ) from exc
        wanted = (COMPLIANCE, self.retention_days, DAYS)
        if (current.mode, current.duration, current.duration_unit) != wanted:
            config = ObjectLockConfig(*wanted)
            translate(lambda: self.s3.set_object_lock_config(bucket, config), "set lock")
            changes.append(
                f"set the default retention of {bucket} to {self.retention_days} days "
                "(compliance mode)"
            )
        self._ready = True
        return changes

    def exists(self, key: str) -> bool:
        def stat() -> bool:
            try:
                self.s3.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
                    return False
                raise
            return True

        return translate(stat, "look for a checkpoint")

    def put(self, key: str, data: bytes) -> str:
        """Write ``data`` under compliance-mode retention; returns the version id."""
        if not self._ready:
            self.ensure_bucket()
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.retention_days)
        written = translate(
            lambda: self.s3.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type="application/json",
                retention=Retention(COMPLIANCE, until),
            ),
            "write checkpoint",
        )
        return str(written.version_id)

    def versions(self, prefix: str) -> list[StoredObject]:
        """Every stored version under ``prefix`` (delete markers hide nothing here)."""
        if not translate(lambda: self.s3.bucket_exists(self.bucket), "check bucket"):
            return []
        listing = self.s3.list_objects(
            self.bucket, prefix=prefix, recursive=True, include_version=True
        )
        return translate(
            lambda: [
                StoredObject(item.object_name, item.version_id)
                for item in listing
                if not item.is_delete_marker and item.object_name and item.version_id
            ],
            "list checkpoints",
        )

    def read(self, stored: StoredObject) -> bytes:
        """The content of one version."""

        def fetch() -> bytes:
            response = self.s3.get_object(self.bucket, stored.key, version_id=stored.version_id)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return translate(fetch, "read checkpoint")


@lru_cache
def checkpoint_store() -> CheckpointStore:
    """The store of this process, from the settings."""
    settings = app_settings()
    s3 = Minio(
        settings.minio_endpoint,
        access_key=settings.minio_access_key,
        secret_key=settings.minio_secret_key,
        secure=settings.minio_secure,
    )
    return CheckpointStore(
        s3, settings.audit_checkpoint_bucket, settings.audit_checkpoint_retention_days
    )
