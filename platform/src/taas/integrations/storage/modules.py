"""A subscription's storage access: an identity of its own per tenant and module whose
policy reaches only ``<bucket>/<module>/``, and the short-lived sessions minted from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import secrets
from typing import Any

from minio.credentials.credentials import Credentials
from minio.error import MinioAdminException, S3Error

from taas.integrations.spec import TenantSpec
from taas.integrations.storage.clients import REGION, MinioClients
from taas.integrations.storage.errors import (
    admin_missing,
    reachable,
    s3_failure,
    translate,
)
from taas.integrations.storage.identities import has_policy, user_info
from taas.integrations.storage.policies import prefix_policy
from taas.integrations.storage.sts import assume_role, derived_secret
from taas.kit.errors import PermanentError
from taas.kit.telemetry import traced

MODULE_USER_SEPARATOR = "."


def _utc(moment: dt.datetime | None) -> dt.datetime:
    """MinIO's client reports expirations without a zone; they are UTC."""
    if moment is None:
        return dt.datetime.now(dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class ModuleAccess(MinioClients):
    """Mints and cuts the storage access of a tenant's subscriptions."""

    def module_users(self, spec: TenantSpec, module: str | None = None) -> list[str]:
        """The MinIO identities of a subscription (of all the tenant's with no ``module``):
        ``<tenant user>.<module>.<nonce>`` (``.`` appears in no slug nor module name, so
        one tenant's never match another's)."""
        prefix = spec.storage_user + MODULE_USER_SEPARATOR
        if module is not None:
            prefix += module + MODULE_USER_SEPARATOR
        listed = json.loads(translate(self.admin.user_list, "list users") or "{}")
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
            minted = reachable(mint, "mint")
        except S3Error as exc:
            if exc.code not in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
                raise s3_failure(exc, "mint module credentials") from exc
            # the tenant's key changed since the identity was made: give it the new one
            translate(lambda: self.admin.user_add(user, user_secret), "reset module user")
            minted = translate(mint, "mint module credentials")
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

    def _ensure_module_identity(
        self, spec: TenantSpec, module: str, user: str, user_secret: str
    ) -> None:
        policy_name = f"{user}-rw"
        wanted = prefix_policy(
            spec.bucket, f"{module}/", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        )
        info = reachable(lambda: user_info(self.admin, user))
        if info is not None and has_policy(info, policy_name):
            return
        translate(lambda: self.admin.policy_add(policy_name, policy=wanted), "add policy")
        if info is None:
            translate(lambda: self.admin.user_add(user, user_secret), "add module user")
        translate(lambda: self.admin.policy_set(policy_name, user=user), "attach policy")

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
                reachable(functools.partial(self.admin.user_remove, user))
                changes.append(f"removed storage identity {user}")
            except MinioAdminException as exc:
                if not admin_missing(exc):
                    raise PermanentError(f"MinIO admin refused removing {user}: {exc}") from exc
            with contextlib.suppress(MinioAdminException):  # already gone
                self.admin.policy_remove(f"{user}-rw")
        return changes
