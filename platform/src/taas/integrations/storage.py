"""Tenant storage on MinIO (S3): a bucket with versioning, encryption, optional object lock,
a quota and a service identity whose policy reaches that bucket only."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import urllib3
from minio import Minio, MinioAdmin
from minio.commonconfig import ENABLED, Tags
from minio.credentials.credentials import Credentials
from minio.credentials.providers import StaticProvider
from minio.deleteobjects import DeleteObject
from minio.error import MinioAdminException, S3Error
from minio.helpers import sha256_hash
from minio.signer import sign_v4_sts
from minio.sseconfig import Rule, SSEConfig
from minio.time import from_iso8601utc, to_amz_date, utcnow
from minio.versioningconfig import VersioningConfig

from taas.integrations.spec import TenantSpec
from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.telemetry import traced

T = TypeVar("T")
GIB = 1024**3
MODULE_USER_SEPARATOR = "."
_STS_HTTP = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=15), retries=False)


def _translate(call: Callable[[], T], what: str) -> T:
    try:
        return call()
    except S3Error as exc:
        raise _s3_failure(exc, what) from exc
    except MinioAdminException as exc:
        if str(exc).startswith("admin request failed; Status: 5"):
            raise TemporaryError(f"MinIO admin {what}: {exc}", delay=2) from exc
        raise PermanentError(f"MinIO admin refused {what}: {exc}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TemporaryError(f"MinIO unreachable during {what}: {exc}", delay=2) from exc


def _s3_failure(exc: S3Error, what: str) -> TemporaryError | PermanentError:
    if exc.code in (
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "XMinioServerNotInitialized",
    ):
        return TemporaryError(f"MinIO {what}: {exc.code}", delay=2)
    return PermanentError(f"MinIO refused {what}: {exc.code} {exc.message}")


def _admin_missing(exc: MinioAdminException) -> bool:
    text = str(exc)
    return "Status: 404" in text or "NoSuchUser" in text or "XMinioAdminNoSuchUser" in text


def user_policy(spec: TenantSpec) -> dict[str, Any]:
    """IAM policy of the tenant's service identity: its own bucket, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"],
                "Resource": [f"arn:aws:s3:::{spec.bucket}"],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [f"arn:aws:s3:::{spec.bucket}/*"],
            },
        ],
    }


def bucket_policy(spec: TenantSpec) -> dict[str, Any]:
    """Bucket policy: no anonymous access of any kind, stated explicitly."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyAnonymous",
                "Effect": "Deny",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:*"],
                "Resource": [f"arn:aws:s3:::{spec.bucket}", f"arn:aws:s3:::{spec.bucket}/*"],
                "Condition": {"StringEquals": {"aws:principaltype": ["Anonymous"]}},
            }
        ],
    }


def normalized(policy: dict[str, Any] | None) -> frozenset[str]:
    """A policy as a set of canonical statements: order, Sid and string-vs-list ignored."""
    if not policy:
        return frozenset()

    def as_list(value: Any) -> list[Any]:
        return sorted(set(value)) if isinstance(value, list) else [value]

    statements = []
    for statement in policy.get("Statement", []):
        canonical = {
            key: (as_list(value) if key in {"Action", "Resource", "NotAction"} else value)
            for key, value in statement.items()
            if key != "Sid"
        }
        statements.append(json.dumps(canonical, sort_keys=True))
    return frozenset(statements)


def prefix_policy(bucket: str, prefix: str, actions: list[str]) -> dict[str, Any]:
    """IAM policy: ``actions`` on the objects under ``<bucket>/<prefix>``, listing there."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
        ],
    }


def derived_secret(secret_key: str, user: str) -> str:
    """The key of a subscription's storage identity ``user``, derived from the tenant's key
    so that nothing more has to be stored."""
    return hmac.new(secret_key.encode(), f"module:{user}".encode(), hashlib.sha256).hexdigest()


def assume_role(
    sts_url: str, access_key: str, secret_key: str, *, duration_s: int, policy: dict[str, Any]
) -> Credentials:
    """STS AssumeRole with exactly ``duration_s`` (minio-py's provider raises anything
    below an hour to an hour); the session policy narrows the identity's policy."""
    body = urlencode(
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "DurationSeconds": str(duration_s),
            "Policy": json.dumps(policy),
        }
    )
    url = urlsplit(sts_url)
    now = utcnow()
    headers = sign_v4_sts(
        method="POST",
        url=url,
        region="",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Host": url.netloc,
            "X-Amz-Date": to_amz_date(now),
        },
        credentials=Credentials(access_key=access_key, secret_key=secret_key),
        content_sha256=sha256_hash(body),
        date=now,
    )
    response = _STS_HTTP.urlopen("POST", sts_url, body=body, headers=headers)
    text = response.data.decode(errors="replace")
    if response.status != 200:
        code = re.search(r"<Code>([^<]+)</Code>", text)
        raise S3Error(
            response,
            code.group(1) if code else f"HTTP{response.status}",
            text[:300],
            sts_url,
            None,
            None,
        )
    found = {
        field: match.group(1)
        for field in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
        if (match := re.search(f"<{field}>([^<]+)</{field}>", text))
    }
    if len(found) != 4:
        raise TemporaryError(f"MinIO STS answered without credentials: {text[:200]}", delay=2)
    return Credentials(
        access_key=found["AccessKeyId"],
        secret_key=found["SecretAccessKey"],
        session_token=found["SessionToken"],
        expiration=from_iso8601utc(found["Expiration"]),
    )


def _policy_name(spec: TenantSpec) -> str:
    return f"{spec.bucket}-rw"


def _utc(moment: dt.datetime | None) -> dt.datetime:
    """MinIO's client reports expirations without a zone; they are UTC."""
    if moment is None:
        return dt.datetime.now(dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


REGION = "us-east-1"  # MinIO's default; clients skip the location lookup with it


class StorageTenants:
    """Makes each tenant's bucket and service identity match the spec."""

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

    def module_users(self, spec: TenantSpec, module: str | None = None) -> list[str]:
        """The MinIO identities of a subscription (of all the tenant's with no ``module``):
        ``<tenant user>.<module>.<nonce>`` (``.`` appears in no slug nor module name, so
        one tenant's never match another's)."""
        prefix = spec.storage_user + MODULE_USER_SEPARATOR
        if module is not None:
            prefix += module + MODULE_USER_SEPARATOR
        listed = json.loads(_translate(self.admin.user_list, "list users") or "{}")
        return sorted(name for name in listed if name.startswith(prefix))

    @staticmethod
    def module_users_prefix(spec: TenantSpec, module: str) -> str:
        return spec.storage_user + MODULE_USER_SEPARATOR + module + MODULE_USER_SEPARATOR

    @traced("minio.assume_role")
    def module_credentials(
        self,
        spec: TenantSpec,
        secret_key: str,
        *,
        module: str,
        write: bool,
        duration_s: int,
    ) -> dict[str, Any]:
        """Short-lived credentials for ``<bucket>/<module>/`` — read, or read and write.

        They are STS AssumeRole sessions of an identity of this subscription alone
        (:meth:`module_users`, its key derived from ``secret_key``), whose policy reaches
        only the module's prefix. Removing that identity (:meth:`cut_module_access`) ends
        every session minted from it at once. MinIO lets the sessions of a removed user
        work again if a user of the same name is made later, so each identity gets a
        name never used before (a random nonce) and is never made again.
        """
        prefix = f"{module}/"
        existing = self.module_users(spec, module)
        user = (
            existing[0]
            if existing
            else self.module_users_prefix(spec, module) + secrets.token_hex(6)
        )
        user_secret = derived_secret(secret_key, user)
        self._ensure_module_identity(spec, module, user, user_secret)
        actions = ["s3:GetObject"] + (["s3:PutObject", "s3:DeleteObject"] if write else [])

        def mint() -> Credentials:
            return assume_role(
                self.sts_url,
                user,
                user_secret,
                duration_s=duration_s,
                policy=prefix_policy(spec.bucket, prefix, actions),
            )

        try:
            minted = mint()
        except S3Error as exc:
            if exc.code not in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
                raise _s3_failure(exc, "mint module credentials") from exc
            # the tenant's key changed since the identity was made: give it the new one
            _translate(lambda: self.admin.user_add(user, user_secret), "reset module user")
            minted = _translate(mint, "mint module credentials")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(f"MinIO unreachable during mint: {exc}", delay=2) from exc
        return {
            "endpoint": self.endpoint,
            "secure": self.secure,
            "region": REGION,
            "bucket": spec.bucket,
            "prefix": prefix,
            "access_key": minted.access_key,
            "secret_key": minted.secret_key,
            "session_token": minted.session_token,
            "expires_at": _utc(minted.expiration).isoformat(),
        }

    @property
    def sts_url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def _ensure_module_identity(
        self, spec: TenantSpec, module: str, user: str, user_secret: str
    ) -> None:
        policy_name = f"{user}-rw"
        wanted = prefix_policy(
            spec.bucket, f"{module}/", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        )
        try:
            info: dict[str, Any] | None = json.loads(self.admin.user_info(user))
        except MinioAdminException as exc:
            if not _admin_missing(exc):
                raise PermanentError(f"MinIO admin refused user lookup: {exc}") from exc
            info = None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(f"MinIO unreachable: {exc}", delay=2) from exc
        if info is not None and policy_name in str(info.get("policyName", "")):
            return
        _translate(lambda: self.admin.policy_add(policy_name, policy=wanted), "add policy")
        if info is None:
            _translate(lambda: self.admin.user_add(user, user_secret), "add module user")
        _translate(lambda: self.admin.policy_set(policy_name, user=user), "attach policy")

    @traced("minio.cut_module_access")
    def cut_module_access(self, spec: TenantSpec, modules: list[str] | None = None) -> list[str]:
        """Remove the storage identities of these subscriptions (all of the tenant's when
        ``modules`` is None): every credential minted from them stops working at once."""
        if modules is None:
            users = self.module_users(spec)
        else:
            users = [user for module in modules for user in self.module_users(spec, module)]
        changes = []
        for user in users:
            try:
                self.admin.user_remove(user)
                changes.append(f"removed storage identity {user}")
            except MinioAdminException as exc:
                if not _admin_missing(exc):
                    raise PermanentError(f"MinIO admin refused removing {user}: {exc}") from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise TemporaryError(f"MinIO unreachable: {exc}", delay=2) from exc
            with contextlib.suppress(MinioAdminException):  # already gone
                self.admin.policy_remove(f"{user}-rw")
        return changes

    @traced("minio.ensure_tenant")
    def ensure(self, spec: TenantSpec, secret_key: str) -> list[str]:
        """Create or repair bucket, settings and service identity; return what changed."""
        changes: list[str] = []
        bucket = spec.bucket
        if not _translate(lambda: self.s3.bucket_exists(bucket), "check bucket"):
            try:
                _translate(
                    lambda: self.s3.make_bucket(bucket, object_lock=spec.object_lock),
                    "create bucket",
                )
                changes.append(f"created bucket {bucket}")
            except PermanentError as exc:
                cause = exc.__cause__
                if not (isinstance(cause, S3Error) and cause.code == "BucketAlreadyOwnedByYou"):
                    raise
        versioning = _translate(lambda: self.s3.get_bucket_versioning(bucket), "read versioning")
        if versioning.status != ENABLED:
            _translate(
                lambda: self.s3.set_bucket_versioning(bucket, VersioningConfig(ENABLED)),
                "enable versioning",
            )
            changes.append(f"enabled versioning on {bucket}")
        encryption = _translate(lambda: self.s3.get_bucket_encryption(bucket), "read encryption")
        if encryption is None:
            _translate(
                lambda: self.s3.set_bucket_encryption(bucket, SSEConfig(Rule.new_sse_s3_rule())),
                "enable encryption",
            )
            changes.append(f"enabled SSE-S3 encryption on {bucket}")
        quota = spec.quotas.storage_gb * GIB
        current_quota = json.loads(
            _translate(lambda: self.admin.bucket_quota_get(bucket), "read quota") or "{}"
        )
        if current_quota.get("quota", current_quota.get("size")) != quota:
            _translate(lambda: self.admin.bucket_quota_set(bucket, quota), "set quota")
            changes.append(f"set quota of {bucket} to {spec.quotas.storage_gb} GiB")
        wanted_bucket_policy = bucket_policy(spec)
        if normalized(self._bucket_policy(bucket)) != normalized(wanted_bucket_policy):
            _translate(
                lambda: self.s3.set_bucket_policy(bucket, json.dumps(wanted_bucket_policy)),
                "set bucket policy",
            )
            changes.append(f"restored bucket policy of {bucket}")
        changes += self._ensure_identity(spec, secret_key)
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
        changes: list[str] = []
        name, user = _policy_name(spec), spec.storage_user
        wanted = user_policy(spec)
        try:
            current = json.loads(self.admin.policy_info(name))
            current_policy = current.get("Policy", current)
        except MinioAdminException:
            current_policy = None
        if normalized(current_policy) != normalized(wanted):
            _translate(lambda: self.admin.policy_add(name, policy=wanted), "add policy")
            changes.append(f"wrote policy {name}")
        try:
            info = json.loads(self.admin.user_info(user))
        except MinioAdminException as exc:
            if not _admin_missing(exc):
                raise PermanentError(f"MinIO admin refused user lookup: {exc}") from exc
            info = None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(f"MinIO unreachable: {exc}", delay=2) from exc
        if info is None:
            _translate(lambda: self.admin.user_add(user, secret_key), "add user")
            changes.append(f"created service identity {user}")
            info = {}
        if name not in str(info.get("policyName", "")):
            _translate(lambda: self.admin.policy_set(name, user=user), "attach policy")
            changes.append(f"attached policy {name} to {user}")
        return changes

    @traced("minio.check_tenant")
    def exists(self, spec: TenantSpec) -> dict[str, bool]:
        bucket = _translate(lambda: self.s3.bucket_exists(spec.bucket), "check bucket")
        try:
            self.admin.user_info(spec.storage_user)
            user = True
        except MinioAdminException as exc:
            if not _admin_missing(exc):
                raise PermanentError(f"MinIO admin refused user lookup: {exc}") from exc
            user = False
        return {"bucket": bucket, "identity": user}

    @traced("minio.set_identity_enabled")
    def set_enabled(self, spec: TenantSpec, *, enabled: bool) -> list[str]:
        if not self.exists(spec)["identity"]:
            return []
        changes = []
        if enabled:
            _translate(lambda: self.admin.user_enable(spec.storage_user), "enable user")
        else:
            _translate(lambda: self.admin.user_disable(spec.storage_user), "disable user")
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
            _translate(lambda: self.admin.user_remove(spec.storage_user), "remove user")
            changes.append(f"removed service identity {spec.storage_user}")
        try:
            self.admin.policy_remove(_policy_name(spec))
            changes.append(f"removed policy {_policy_name(spec)}")
        except MinioAdminException:
            pass
        return changes

    @traced("minio.retain_bucket")
    def retain(self, spec: TenantSpec, until_iso: str) -> list[str]:
        """Keep the bucket read-only for the platform: tag it with the retention deadline."""
        if not _translate(lambda: self.s3.bucket_exists(spec.bucket), "check bucket"):
            return []
        tags = Tags.new_bucket_tags()
        tags["taas.io/retain-until"] = until_iso
        tags["taas.io/tenant"] = spec.slug
        _translate(lambda: self.s3.set_bucket_tags(spec.bucket, tags), "tag bucket")
        return [f"kept bucket {spec.bucket} read-only until {until_iso}"]

    @traced("minio.remove_bucket")
    def remove_bucket(self, spec: TenantSpec) -> list[str]:
        """Delete every object version, then the bucket."""
        bucket = spec.bucket
        if not _translate(lambda: self.s3.bucket_exists(bucket), "check bucket"):
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
        _translate(lambda: self.s3.remove_bucket(bucket), "remove bucket")
        return [f"deleted bucket {bucket} ({len(versions)} object versions)"]


# What the control plane does on MinIO, and nothing more: tenant buckets (``tenant-*``,
# the contract-check sandbox included) and the administration of the tenant and module
# identities and their policies. No other bucket, no server configuration, no root.
CONTROL_PLANE_ADMIN_ACTIONS = [
    "admin:CreateUser",
    "admin:DeleteUser",
    "admin:ListUsers",
    "admin:GetUser",
    "admin:EnableUser",
    "admin:DisableUser",
    "admin:CreatePolicy",
    "admin:DeletePolicy",
    "admin:GetPolicy",
    "admin:AttachUserOrGroupPolicy",
    "admin:SetBucketQuota",
    "admin:GetBucketQuota",
]


CHECKPOINT_ACTIONS = [
    # Create the object-locked bucket once, then add and read checkpoints; never delete
    # (compliance-mode retention refuses that to everyone anyway) or loosen the lock.
    # minio-py asks for the bucket's location before its first call on a bucket: without
    # GetBucketLocation every call below is refused.
    "s3:GetBucketLocation",
    "s3:CreateBucket",
    "s3:GetBucketObjectLockConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutObject",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObjectRetention",
    "s3:GetObjectRetention",
]


def control_plane_policy(checkpoint_bucket: str = "taas-audit-checkpoints") -> dict[str, Any]:
    """IAM policy of the control plane's own MinIO identity: the tenant buckets, the
    audit checkpoints (append and read only) and the user administration it does."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:*"],
                "Resource": ["arn:aws:s3:::tenant-*", "arn:aws:s3:::tenant-*/*"],
            },
            {
                "Effect": "Allow",
                "Action": CHECKPOINT_ACTIONS,
                "Resource": [
                    f"arn:aws:s3:::{checkpoint_bucket}",
                    f"arn:aws:s3:::{checkpoint_bucket}/*",
                ],
            },
            {"Effect": "Allow", "Action": CONTROL_PLANE_ADMIN_ACTIONS},
        ],
    }


def _signs_in(endpoint: str, access_key: str, secret_key: str, *, secure: bool) -> bool:
    """Whether MinIO knows ``access_key`` with ``secret_key`` (a refusal for want of
    permission still proves the key)."""
    s3 = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)
    try:
        s3.list_buckets()
    except S3Error as exc:
        return exc.code not in ("InvalidAccessKeyId", "SignatureDoesNotMatch")
    return True


def ensure_control_plane_identity(
    endpoint: str,
    root_user: str,
    root_password: str,
    *,
    secure: bool,
    access_key: str,
    secret_key: str,
    checkpoint_bucket: str = "taas-audit-checkpoints",
) -> list[str]:
    """Create or repair the control plane's MinIO identity with the root credentials
    (``taas platform init``); the platform itself then runs with ``access_key`` only."""
    admin = MinioAdmin(
        endpoint=endpoint, credentials=StaticProvider(root_user, root_password), secure=secure
    )
    policy_name, wanted = access_key, control_plane_policy(checkpoint_bucket)
    changes: list[str] = []
    try:
        current = json.loads(admin.policy_info(policy_name))
        current_policy = current.get("Policy", current)
    except MinioAdminException:
        current_policy = None
    if normalized(current_policy) != normalized(wanted):
        _translate(lambda: admin.policy_add(policy_name, policy=wanted), "add policy")
        changes.append(f"wrote policy {policy_name}")
    # user_add sets the secret whether or not the user exists, so a changed key is repaired;
    # it is skipped while the key works, so a running platform is never disturbed.
    if not _signs_in(endpoint, access_key, secret_key, secure=secure):
        _translate(lambda: admin.user_add(access_key, secret_key), "add control-plane user")
        changes.append(f"wrote user {access_key}")
    info = json.loads(_translate(lambda: admin.user_info(access_key), "read user"))
    if policy_name not in str(info.get("policyName", "")):
        _translate(lambda: admin.policy_set(policy_name, user=access_key), "attach policy")
        changes.append(f"attached policy {policy_name} to {access_key}")
    if changes:
        _await_policy(endpoint, access_key, secret_key, checkpoint_bucket, secure=secure)
    return changes


def _await_policy(
    endpoint: str, access_key: str, secret_key: str, bucket: str, *, secure: bool
) -> None:
    """Wait (at most 15 s) until MinIO applies a changed policy: right after a change it
    can still refuse what the new policy allows."""
    s3 = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)
    deadline = time.monotonic() + 15
    while True:
        try:
            s3.bucket_exists(bucket)
        except S3Error as exc:
            if exc.code != "AccessDenied" or time.monotonic() > deadline:
                raise PermanentError(
                    f"MinIO does not apply the control plane's policy: {exc.code}",
                    hint="run `taas platform init` again; see MinIO's log",
                ) from exc
            time.sleep(0.2)
        else:
            return
