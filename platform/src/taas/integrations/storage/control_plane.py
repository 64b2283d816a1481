"""The control plane's own MinIO identity, made with the root credentials by
``taas platform init``; the platform then runs with that identity only."""

from __future__ import annotations

import json
import time

from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider
from minio.error import S3Error

from taas.integrations.storage.errors import translate
from taas.integrations.storage.identities import ensure_attached, ensure_policy
from taas.integrations.storage.policies import control_plane_policy
from taas.kit.errors import PermanentError


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
    policy_name = access_key
    changes = ensure_policy(admin, policy_name, control_plane_policy(checkpoint_bucket))
    # user_add sets the secret whether or not the user exists, so a changed key is repaired;
    # it is skipped while the key works, so a running platform is never disturbed.
    if not _signs_in(endpoint, access_key, secret_key, secure=secure):
        translate(lambda: admin.user_add(access_key, secret_key), "add control-plane user")
        changes.append(f"wrote user {access_key}")
    info = json.loads(translate(lambda: admin.user_info(access_key), "read user"))
    changes += ensure_attached(admin, policy_name, access_key, info)
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
