"""Storage confined to the calling tenant's bucket and this module's prefix.

A module never holds long-lived storage keys. On a call from a bank, the gateway adds a
storage grant (signed by the platform, not by the vendor); the SDK exchanges it at the
platform for short-lived S3 credentials (MinIO STS) whose session policy allows only
``<tenant bucket>/<module>/``. So a module cannot read another tenant's objects, nor
another module's, whatever its code tries: the credentials do not allow it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Protocol, TypeVar

import httpx
from fastapi import Depends, HTTPException, Request
from minio import Minio
from minio.credentials.providers import StaticProvider
from minio.error import S3Error

from taas_sdk.caller import Caller, current_caller
from taas_sdk.settings import ModuleSettings

RENEW_BEFORE_S = 60.0
# What MinIO answers once the platform has removed the identity the credentials came from
# (AccessDenied, measured) or they expired. The SDK's own operations stay inside the prefix,
# so there AccessDenied means the credentials ended.
ENDED_CREDENTIALS = frozenset({"AccessDenied", "InvalidAccessKeyId", "ExpiredToken"})
T = TypeVar("T")


class TenantStorage(Protocol):
    """Objects of one tenant, under this module's prefix; keys are relative to it."""

    def get(self, key: str) -> bytes: ...

    def size(self, key: str) -> int:
        """Bytes of the object (404 if there is none): check before reading it whole."""
        ...

    def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def presigned_put(self, key: str, expires_s: int = 900) -> str: ...

    def presigned_get(self, key: str, expires_s: int = 900) -> str: ...


@dataclass(frozen=True)
class StorageCredentials:
    """What the platform mints: temporary keys for one bucket prefix."""

    endpoint: str
    secure: bool
    region: str
    bucket: str
    prefix: str
    access_key: str
    secret_key: str
    session_token: str
    expires_at: dt.datetime


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _clean(key: str) -> str:
    parts = key.strip("/").split("/")
    if not key or any(part in ("", ".", "..") for part in parts):
        raise HTTPException(422, f"invalid object key {key!r}")
    return "/".join(parts)


@contextlib.contextmanager
def _missing_is_404(key: str) -> Iterator[None]:
    """A missing object is the caller's 404, said in the module's terms."""
    try:
        yield
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject"):
            raise HTTPException(404, f"no object {key!r} in the tenant's storage") from exc
        raise


class S3TenantStorage:
    """``TenantStorage`` over MinIO with the minted credentials.

    The platform ends credentials early (the bank unsubscribed and subscribed again, or
    was suspended and resumed): when MinIO says they no longer work, ``renew`` (if given)
    gets new ones and the operation is tried once more.
    """

    def __init__(
        self,
        credentials: StorageCredentials,
        renew: Callable[[], StorageCredentials] | None = None,
    ) -> None:
        self.renew = renew
        self._use(credentials)

    def _use(self, credentials: StorageCredentials) -> None:
        provider = StaticProvider(
            credentials.access_key, credentials.secret_key, credentials.session_token
        )
        # With the region given, the client does not ask for the bucket's location (which
        # the session policy does not allow).
        self.client = Minio(
            credentials.endpoint,
            credentials=provider,
            secure=credentials.secure,
            region=credentials.region,
        )
        self.credentials = credentials

    def _call(self, operation: Callable[[Minio], T]) -> T:
        try:
            return operation(self.client)
        except S3Error as exc:
            if exc.code not in ENDED_CREDENTIALS or self.renew is None:
                raise
        self._use(self.renew())
        return operation(self.client)

    def _name(self, key: str) -> str:
        return self.credentials.prefix + _clean(key)

    def get(self, key: str) -> bytes:
        name = self._name(key)
        with _missing_is_404(key):
            response = self._call(lambda s3: s3.get_object(self.credentials.bucket, name))
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def size(self, key: str) -> int:
        name = self._name(key)
        with _missing_is_404(key):
            stat = self._call(lambda s3: s3.stat_object(self.credentials.bucket, name))
        return int(stat.size or 0)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        name = self._name(key)
        self._call(
            lambda s3: s3.put_object(
                self.credentials.bucket,
                name,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
            )
        )

    def list(self, prefix: str = "") -> list[str]:
        start = self.credentials.prefix + prefix.lstrip("/")
        objects = self._call(
            lambda s3: list(s3.list_objects(self.credentials.bucket, prefix=start, recursive=True))
        )
        return [str(o.object_name)[len(self.credentials.prefix) :] for o in objects]

    def delete(self, key: str) -> None:
        name = self._name(key)
        self._call(lambda s3: s3.remove_object(self.credentials.bucket, name))

    def presigned_put(self, key: str, expires_s: int = 900) -> str:
        return self.client.presigned_put_object(
            self.credentials.bucket, self._name(key), dt.timedelta(seconds=expires_s)
        )

    def presigned_get(self, key: str, expires_s: int = 900) -> str:
        return self.client.presigned_get_object(
            self.credentials.bucket, self._name(key), dt.timedelta(seconds=expires_s)
        )


class CredentialBroker:
    """Exchanges storage grants for credentials at the platform; caches them per tenant."""

    def __init__(self, settings: ModuleSettings) -> None:
        self.url = settings.platform_url.rstrip("/") + "/v1/storage/credentials"
        self._cache: dict[str, StorageCredentials] = {}
        self._storages: dict[str, S3TenantStorage] = {}
        self._lock = threading.Lock()

    def credentials(self, caller: Caller) -> StorageCredentials:
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            cached = self._cache.get(caller.tenant_id)
        if cached and (cached.expires_at - now).total_seconds() > RENEW_BEFORE_S:
            return cached
        if not caller.storage_grant:
            raise HTTPException(
                403, "this call carries no storage grant: the plugin declares no storage access"
            )
        response = httpx.post(
            self.url, headers={"Authorization": f"Bearer {caller.storage_grant}"}, timeout=10
        )
        if response.status_code != 200:
            raise HTTPException(
                502, f"the platform refused storage credentials: {response.text[:200]}"
            )
        body = response.json()
        minted = StorageCredentials(
            endpoint=body["endpoint"],
            secure=bool(body["secure"]),
            region=body.get("region", "us-east-1"),
            bucket=body["bucket"],
            prefix=body["prefix"],
            access_key=body["access_key"],
            secret_key=body["secret_key"],
            session_token=body["session_token"],
            expires_at=_aware(dt.datetime.fromisoformat(body["expires_at"])),
        )
        with self._lock:
            self._cache[caller.tenant_id] = minted
        return minted

    def storage(self, caller: Caller) -> S3TenantStorage:
        """The tenant's storage client, kept while its credentials last, so that calls
        reuse its pooled connections (the client is thread-safe)."""
        credentials = self.credentials(caller)
        with self._lock:
            client = self._storages.get(caller.tenant_id)
            if client is None or client.credentials is not credentials:
                client = self._storages[caller.tenant_id] = S3TenantStorage(credentials)
            # renewed with the grant of the latest call (a grant lives only minutes)
            client.renew = functools.partial(self._renew, caller)
            return client

    def _renew(self, caller: Caller) -> StorageCredentials:
        """New credentials after the platform ended the cached ones."""
        with self._lock:
            self._cache.pop(caller.tenant_id, None)
        return self.credentials(caller)


def tenant_storage(
    request: Request, caller: Annotated[Caller, Depends(current_caller)]
) -> TenantStorage:
    """The calling tenant's storage (a FastAPI dependency)."""
    factory: Callable[[Caller], TenantStorage] | None = getattr(
        request.app.state, "storage_factory", None
    )
    if factory is not None:  # the test kit's in-memory storage
        return factory(caller)
    broker: CredentialBroker = request.app.state.credential_broker
    return broker.storage(caller)


TenantStorageDep = Annotated[TenantStorage, Depends(tenant_storage)]
