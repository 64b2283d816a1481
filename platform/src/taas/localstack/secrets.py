"""Credentials of the local stack: generated once per machine, never hard-coded."""

from __future__ import annotations

import base64
import json
import os
import secrets as random
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSecrets:
    """Passwords and keys of the local servers, kept in ``<state>/secrets.json`` (0600)."""

    postgres_user: str
    postgres_password: str
    keycloak_db_password: str
    redis_password: str
    minio_root_user: str
    minio_root_password: str
    minio_kms_key: str
    keycloak_admin_user: str
    keycloak_admin_password: str

    @classmethod
    def generate(cls) -> StackSecrets:
        def token() -> str:
            return random.token_urlsafe(24)

        kms_key = base64.b64encode(random.token_bytes(32)).decode()
        return cls(
            postgres_user="taas",
            postgres_password=token(),
            keycloak_db_password=token(),
            redis_password=token(),
            minio_root_user="taas-root",
            minio_root_password=token(),
            minio_kms_key=f"taas-local-key:{kms_key}",
            keycloak_admin_user="taas-admin",
            keycloak_admin_password=token(),
        )

    @classmethod
    def load_or_create(cls, path: Path) -> StackSecrets:
        """Read the secrets file, writing a fresh one on first use."""
        if path.exists():
            return cls(**json.loads(path.read_text()))
        created = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(created), handle, indent=2)
        return created
