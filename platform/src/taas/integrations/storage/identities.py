"""MinIO users and their policies, looked up and made to match what is wanted."""

from __future__ import annotations

import json
from typing import Any

from minio import MinioAdmin
from minio.error import MinioAdminException

from taas.integrations.storage.errors import admin_missing, translate
from taas.integrations.storage.policies import normalized
from taas.kit.errors import PermanentError


def user_info(admin: MinioAdmin, user: str) -> dict[str, Any] | None:
    """What MinIO knows of ``user``; None when there is no such user."""
    try:
        info: dict[str, Any] = json.loads(admin.user_info(user))
    except MinioAdminException as exc:
        if not admin_missing(exc):
            raise PermanentError(f"MinIO admin refused user lookup: {exc}") from exc
        return None
    return info


def has_policy(info: dict[str, Any], policy: str) -> bool:
    """Whether the user ``info`` describes has ``policy`` attached."""
    return policy in str(info.get("policyName", ""))


def ensure_policy(admin: MinioAdmin, name: str, wanted: dict[str, Any]) -> list[str]:
    """Write policy ``name`` unless it already says what ``wanted`` says."""
    try:
        current = json.loads(admin.policy_info(name))
        current_policy = current.get("Policy", current)
    except MinioAdminException:
        current_policy = None
    if normalized(current_policy) == normalized(wanted):
        return []
    translate(lambda: admin.policy_add(name, policy=wanted), "add policy")
    return [f"wrote policy {name}"]


def ensure_attached(admin: MinioAdmin, policy: str, user: str, info: dict[str, Any]) -> list[str]:
    """Attach ``policy`` to ``user`` (whose record is ``info``) unless it is attached."""
    if has_policy(info, policy):
        return []
    translate(lambda: admin.policy_set(policy, user=user), "attach policy")
    return [f"attached policy {policy} to {user}"]
