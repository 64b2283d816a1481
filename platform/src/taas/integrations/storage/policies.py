"""The IAM and bucket policies the platform writes on MinIO, and how two policies are
compared (as sets of statements, since MinIO may hand them back reordered)."""

from __future__ import annotations

import json
from typing import Any

from taas.integrations.spec import TenantSpec


def policy_name(spec: TenantSpec) -> str:
    """The name of the tenant's service-identity policy."""
    return f"{spec.bucket}-rw"


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
