"""Tenant storage on MinIO (S3): a bucket with versioning, encryption, optional object lock,
a quota and a service identity whose policy reaches that bucket only.

One module per concern: ``clients`` (the platform's S3 and admin clients), ``errors``
(retry-aware failures), ``policies`` (what each identity may do, and comparing policies),
``identities`` (MinIO users and their policies), ``sts`` (short-lived sessions),
``modules`` (a subscription's access to its prefix), ``tenants`` (``StorageTenants``: a
tenant's bucket and identity) and ``control_plane`` (the platform's own identity).
"""

from __future__ import annotations

from taas.integrations.storage.clients import REGION
from taas.integrations.storage.control_plane import ensure_control_plane_identity
from taas.integrations.storage.modules import MODULE_USER_SEPARATOR
from taas.integrations.storage.policies import (
    CHECKPOINT_ACTIONS,
    CONTROL_PLANE_ADMIN_ACTIONS,
    bucket_policy,
    control_plane_policy,
    normalized,
    prefix_policy,
    user_policy,
)
from taas.integrations.storage.sts import assume_role, derived_secret
from taas.integrations.storage.tenants import GIB, StorageTenants

__all__ = [
    "CHECKPOINT_ACTIONS",
    "CONTROL_PLANE_ADMIN_ACTIONS",
    "GIB",
    "MODULE_USER_SEPARATOR",
    "REGION",
    "StorageTenants",
    "assume_role",
    "bucket_policy",
    "control_plane_policy",
    "derived_secret",
    "ensure_control_plane_identity",
    "normalized",
    "prefix_policy",
    "user_policy",
]
