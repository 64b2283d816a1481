"""What the operators API accepts and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from taas.kit.schemas import JsonEnum, StrictInput

USERNAME = r"^[a-z][a-z0-9._-]{2,62}$"  # Keycloak: 3 to 255 characters


class PlatformRole(StrEnum):
    """``platform-operator`` changes things; ``platform-auditor`` reads everything."""

    OPERATOR = "platform-operator"
    AUDITOR = "platform-auditor"


class OperatorCreate(StrictInput):
    username: Annotated[
        str,
        Field(
            pattern=USERNAME,
            description="Login name in the platform realm (lowercase).",
        ),
    ]
    email: EmailStr
    role: Annotated[PlatformRole, JsonEnum, Field(description="The role the new user gets.")] = (
        PlatformRole.OPERATOR
    )


class OperatorOut(BaseModel):
    id: uuid.UUID
    username: str
    email: str | None
    roles: list[PlatformRole]
    enabled: bool
    pending_setup: Annotated[
        bool,
        Field(
            description="The user has not yet replaced the temporary password (the platform "
            "realm's account console asks for a new one at the first login)."
        ),
    ]
    created_at: dt.datetime | None


class OperatorCreated(BaseModel):
    operator: OperatorOut
    temporary_password: Annotated[
        str | None,
        Field(
            description="Shown once; the user must replace it at the first login. A retry "
            "with the same Idempotency-Key issues a new one while the user has not logged "
            "in yet, and none after."
        ),
    ]
    account_url: Annotated[
        str,
        Field(
            description="Where the user logs in the first time (in a browser) to replace "
            "the temporary password; the CLI's password login works only after that."
        ),
    ]


class OperatorList(BaseModel):
    items: list[OperatorOut]
