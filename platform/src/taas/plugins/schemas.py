"""What the vendor and plugin API accepts and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from taas.kit.schemas import StrictInput
from taas.plugins.manifest import PluginManifest
from taas.plugins.states import PluginStatus, VendorStatus

VENDOR_SLUG = r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"


class VendorCreate(StrictInput):
    slug: Annotated[str, Field(pattern=VENDOR_SLUG, description="Short unique vendor name.")]
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    contact_email: EmailStr


class _DocumentedAsManifest:
    """Documents a JSON object as a ``PluginManifest`` (a ``$ref`` to its schema) without
    validating it as one: the submit endpoint validates the manifest itself, to answer
    with a 422 that lists every bad field in the manifest's own terms."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        manifest = PluginManifest.__pydantic_core_schema__
        definitions: list[CoreSchema] = []
        if manifest["type"] == "definitions":
            definitions = list(manifest["definitions"])
            manifest = manifest["schema"]
        reference = core_schema.definition_reference_schema(manifest["ref"])
        return handler(core_schema.definitions_schema(reference, [manifest, *definitions]))


ManifestBody = Annotated[dict[str, Any], _DocumentedAsManifest]
"""A plugin submission: any JSON object, documented as the manifest it must be."""


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    display_name: str
    contact_email: str
    client_id: str
    status: VendorStatus
    created_at: dt.datetime


class VendorCredentials(BaseModel):
    """How the vendor logs in, and the key its modules check gateway signatures with."""

    client_id: str
    client_secret: str
    token_url: str
    signing_secret: Annotated[
        str,
        Field(
            description="HMAC-SHA256 key of the X-TaaS-Signature header the gateways add "
            "to every request they forward to this vendor's plugins."
        ),
    ]


class VendorCreated(BaseModel):
    vendor: VendorOut
    credentials: VendorCredentials


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ValidationReport(BaseModel):
    """What the validation operation checked, and what it found."""

    passed: bool | None = None
    platform_plugin_api: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    checks: list[CheckOut] = []
    hint: str | None = Field(
        default=None, description="What to do about the failed checks (absent when passed)."
    )
    attempts: int | None = Field(
        default=None,
        description="Validation runs started for this version (a run whose worker died is "
        "started again, a bounded number of times).",
    )


class PluginVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vendor: str
    name: str
    version: str
    capability: str
    status: PluginStatus
    status_reason: str | None
    manifest: dict[str, Any]
    validation: ValidationReport
    submitted_by: str
    reviewed_by: str | None
    review_reason: str | None
    published_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Review(StrictInput):
    reason: Annotated[str, Field(min_length=1, max_length=1000)] = "reviewed"
    publish: Annotated[
        bool, Field(description="Approve and publish in one step (approve only).")
    ] = True


class Reason(StrictInput):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]
