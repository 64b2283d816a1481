"""A tenant's storage: a bucket with versioning, encryption, optional object lock, a quota
and a bucket policy, and a service identity whose policy reaches that bucket only."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from minio.commonconfig import ENABLED, Tags
from minio.deleteobjects import DeleteObject
from minio.error import MinioAdminException, S3Error
from minio.sseconfig import Rule, SSEConfig
from minio.versioningconfig import VersioningConfig

from taas.integrations.spec import TenantSpec
from taas.integrations.storage.clients import ensure_bucket
from taas.integrations.storage.errors import reachable, translate
from taas.integrations.storage.identities import ensure_attached, ensure_policy, user_info
from taas.integrations.storage.modules import ModuleAccess
from taas.integrations.storage.policies import bucket_policy, normalized, policy_name, user_policy
from taas.kit.errors import PermanentError
from taas.kit.telemetry import traced

GIB = 1024**3


class StorageTenants(ModuleAccess):
    """Makes each tenant's bucket and service identity match the spec."""

    @traced("minio.ensure_tenant")
    def ensure(self, spec: TenantSpec, secret_key: str) -> list[str]:
        """Create or repair bucket, settings and service identity; return what changed."""
        created = ensure_bucket(self.s3, spec.bucket, object_lock=spec.object_lock)
        changes = [f"created bucket {spec.bucket}"] if created else []
        changes += self._ensure_bucket_settings(spec.bucket)
        quota = spec.quotas.storage_gb * GIB
        current_quota = json.loads(
            translate(lambda: self.admin.bucket_quota_get(spec.bucket), "read quota") or "{}"
        )
        if current_quota.get("quota", current_quota.get("size")) != quota:
            translate(lambda: self.admin.bucket_quota_set(spec.bucket, quota), "set quota")
            changes.append(f"set quota of {spec.bucket} to {spec.quotas.storage_gb} GiB")
        wanted_bucket_policy = bucket_policy(spec)
        if normalized(self._bucket_policy(spec.bucket)) != normalized(wanted_bucket_policy):
            translate(
                lambda: self.s3.set_bucket_policy(spec.bucket, json.dumps(wanted_bucket_policy)),
                "set bucket policy",
            )
            changes.append(f"restored bucket policy of {spec.bucket}")
        changes += self._ensure_identity(spec, secret_key)
        return changes

    def _ensure_bucket_settings(self, bucket: str) -> list[str]:
        """Versioning and server-side encryption, switched on when off."""
        changes = []
        versioning = translate(lambda: self.s3.get_bucket_versioning(bucket), "read versioning")
        if versioning.status != ENABLED:
            translate(
                lambda: self.s3.set_bucket_versioning(bucket, VersioningConfig(ENABLED)),
                "enable versioning",
            )
            changes.append(f"enabled versioning on {bucket}")
        encryption = translate(lambda: self.s3.get_bucket_encryption(bucket), "read encryption")
        if encryption is None:
            translate(
                lambda: self.s3.set_bucket_encryption(bucket, SSEConfig(Rule.new_sse_s3_rule())),
                "enable encryption",
            )
            changes.append(f"enabled SSE-S3 encryption on {bucket}")
        return changes

    def _bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        try:
            text = self.s3.get_bucket_policy(bucket)
        except S3Error as exc:
            if exc.code == "NoSuchBucketPolicy":
                return None
            raise
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def _ensure_identity(self, spec: TenantSpec, secret_key: str) -> list[str]:
        name, user = policy_name(spec), spec.storage_user
        changes = ensure_policy(self.admin, name, user_policy(spec))
        info = reachable(lambda: user_info(self.admin, user))
        if info is None:
            translate(lambda: self.admin.user_add(user, secret_key), "add user")
            changes.append(f"created service identity {user}")
            info = {}
        return changes + ensure_attached(self.admin, name, user, info)

    @traced("minio.check_tenant")
    def exists(self, spec: TenantSpec) -> dict[str, bool]:
        bucket = translate(lambda: self.s3.bucket_exists(spec.bucket), "check bucket")
        return {"bucket": bucket, "identity": user_info(self.admin, spec.storage_user) is not None}

    @traced("minio.set_identity_enabled")
    def set_enabled(self, spec: TenantSpec, *, enabled: bool) -> list[str]:
        if not self.exists(spec)["identity"]:
            return []
        changes = []
        if enabled:
            translate(lambda: self.admin.user_enable(spec.storage_user), "enable user")
        else:
            translate(lambda: self.admin.user_disable(spec.storage_user), "disable user")
            # modules' credentials are minted from identities of their own: end them too
            # (they are made again on the next grant once the tenant is active)
            changes += self.cut_module_access(spec)
        return [
            f"{'enabled' if enabled else 'disabled'} service identity {spec.storage_user}",
            *changes,
        ]

    @traced("minio.remove_identity")
    def remove_identity(self, spec: TenantSpec) -> list[str]:
        changes = self.cut_module_access(spec)
        if self.exists(spec)["identity"]:
            translate(lambda: self.admin.user_remove(spec.storage_user), "remove user")
            changes.append(f"removed service identity {spec.storage_user}")
        with contextlib.suppress(MinioAdminException):
            self.admin.policy_remove(policy_name(spec))
            changes.append(f"removed policy {policy_name(spec)}")
        return changes

    @traced("minio.retain_bucket")
    def retain(self, spec: TenantSpec, until_iso: str) -> list[str]:
        """Keep the bucket read-only for the platform: tag it with the retention deadline."""
        if not translate(lambda: self.s3.bucket_exists(spec.bucket), "check bucket"):
            return []
        tags = Tags.new_bucket_tags()
        tags["taas.io/retain-until"] = until_iso
        tags["taas.io/tenant"] = spec.slug
        translate(lambda: self.s3.set_bucket_tags(spec.bucket, tags), "tag bucket")
        return [f"kept bucket {spec.bucket} read-only until {until_iso}"]

    @traced("minio.remove_bucket")
    def remove_bucket(self, spec: TenantSpec) -> list[str]:
        """Delete every object version, then the bucket."""
        bucket = spec.bucket
        if not translate(lambda: self.s3.bucket_exists(bucket), "check bucket"):
            return []
        versions = [
            DeleteObject(str(item.object_name), item.version_id)
            for item in self.s3.list_objects(bucket, recursive=True, include_version=True)
        ]
        if versions:
            errors = list(self.s3.remove_objects(bucket, versions, bypass_governance_mode=True))
            if errors:
                raise PermanentError(
                    f"MinIO kept {len(errors)} objects of {bucket}: {errors[0]}",
                    hint="objects under a compliance-mode lock cannot be deleted before it expires",
                )
        translate(lambda: self.s3.remove_bucket(bucket), "remove bucket")
        return [f"deleted bucket {bucket} ({len(versions)} object versions)"]
