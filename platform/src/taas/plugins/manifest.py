"""The plugin manifest: what a vendor declares about one version of its plugin.

The JSON Schema of this model is published at ``GET /v1/plugins/manifest-schema`` and in
the vendor guide. Semantic checks that need more than the schema (the OpenAPI document,
the health probe, the contract calls) run later, in the validation operation.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import semver
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from taas.kit.quantities import CPU, millicores
from taas.kit.schemas import JsonEnum, StrictInput

# The plugin API this platform speaks: the forwarded identity headers, their signature,
# the health probe and the contract-check conventions. Plugins declare a range of it.
PLUGIN_API_VERSION = "1.0"

NAME = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
SCOPE = r"^[a-z][a-z0-9._-]{1,62}[a-z0-9]$"
_MEMORY = re.compile(r"^\d+(Mi|Gi)$")


class Capability(StrEnum):
    RISK = "risk"
    MARKETING = "marketing"
    OCR = "ocr"
    OTHER = "other"


class PersonalData(StrEnum):
    """Classes of personal data a plugin may process (for the bank's records of processing)."""

    IDENTITY = "identity"  # names, ID numbers, dates of birth
    CONTACT = "contact"  # phones, addresses, e-mail
    FINANCIAL = "financial"  # accounts, cards, transactions, credit history
    BIOMETRIC = "biometric"  # face images
    DEVICE = "device"  # device ids, IP addresses
    DOCUMENT_IMAGES = "document_images"


class Upstream(StrictInput):
    """Where the plugin runs: a URL of a running service, or an image to deploy in-cluster."""

    url: Annotated[
        AnyHttpUrl | None,
        Field(description="Base URL of a running service the gateways forward to."),
    ] = None
    image: Annotated[
        str | None,
        Field(
            max_length=300,
            pattern=r"^[a-z0-9./:@_-]+$",
            description="Container image deployed per subscription (silo) or shared (pool).",
        ),
    ] = None
    port: Annotated[int, Field(ge=1, le=65535, description="Port the image listens on.")] = 8080

    @model_validator(mode="after")
    def _one_of(self) -> Upstream:
        if self.url is None and self.image is None:
            raise ValueError("upstream needs a url, an image, or both")
        return self


class DataAccess(StrictInput):
    """What data the plugin touches."""

    storage: Annotated[
        list[str],
        Field(description='Access to the tenant\'s bucket: any of "read", "write".'),
    ] = Field(default_factory=list)
    personal_data: list[Annotated[PersonalData, JsonEnum]] = Field(default_factory=list)

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"read", "write"}
        if unknown:
            raise ValueError(f"storage access must be read and/or write, not {sorted(unknown)}")
        return sorted(set(value))


class Resources(StrictInput):
    """What one replica asks of a node, and how many replicas run, when the platform runs
    the plugin's image."""

    cpu: Annotated[
        str, Field(description="CPU the replica is guaranteed (its request): `0.5` or `250m`.")
    ] = "100m"
    cpu_limit: Annotated[
        str | None,
        Field(
            description="CPU the replica may burst to (its limit); at least `cpu`. "
            "Default: four times `cpu`."
        ),
    ] = None
    memory: Annotated[str, Field(description="Memory request and limit: `256Mi`.")] = "128Mi"
    replicas: Annotated[
        int, Field(ge=1, le=20, description="Replicas; the least when autoscaled.")
    ] = 1
    max_replicas: Annotated[
        int | None,
        Field(
            ge=1,
            le=20,
            description="Above `replicas`, a HorizontalPodAutoscaler adds replicas up to this "
            "many when CPU use passes `cpu_target_percent`. Default: `replicas` (no autoscaling).",
        ),
    ] = None
    cpu_target_percent: Annotated[
        int,
        Field(ge=10, le=400, description="Autoscaling target: average CPU use, % of `cpu`."),
    ] = 70

    @field_validator("cpu", "cpu_limit")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        if value is not None and not CPU.match(value):
            raise ValueError("cpu must be cores (`0.5`) or millicores (`250m`)")
        if value is not None and millicores(value) < 1:
            raise ValueError("cpu must be at least 1m")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.match(value):
            raise ValueError("memory must be in Mi or Gi (`256Mi`)")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> Resources:
        if self.cpu_limit is not None and millicores(self.cpu_limit) < millicores(self.cpu):
            raise ValueError("cpu_limit must be at least cpu")
        if self.max_replicas is not None and self.max_replicas < self.replicas:
            raise ValueError("max_replicas must be at least replicas")
        return self


class Pricing(StrictInput):
    """Commercial terms shown in the catalog (billing uses the metered usage)."""

    model: Annotated[str, Field(pattern=r"^(free|per_call|monthly|tiered)$")] = "per_call"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    per_call: Annotated[float, Field(ge=0)] = 0.0
    monthly: Annotated[float, Field(ge=0)] = 0.0
    included_calls: Annotated[int, Field(ge=0)] = 0
    notes: Annotated[str, Field(max_length=500)] = ""


class PluginManifest(StrictInput):
    """One version of a plugin, as its vendor describes it."""

    name: Annotated[
        str,
        Field(pattern=NAME, description="Module name; the path segment banks call it by."),
    ]
    version: Annotated[str, Field(max_length=64, description="Semantic version, e.g. 1.4.2.")]
    plugin_api: Annotated[
        str,
        Field(
            max_length=64,
            description="Range of the platform's plugin API this version works with, "
            'as a version specifier (e.g. ">=1.0,<2").',
        ),
    ]
    capability: Annotated[Capability, JsonEnum]
    summary: Annotated[str, Field(min_length=1, max_length=300)]
    upstream: Upstream
    openapi: Annotated[
        dict[str, Any], Field(description="The plugin's OpenAPI 3.0 or 3.1 document.")
    ]
    health_path: Annotated[str, Field(pattern=r"^/[\x21-\x7e]*$", max_length=200)] = "/healthz"
    scopes: Annotated[
        list[Annotated[str, Field(pattern=SCOPE)]],
        Field(
            max_length=20,
            description="Scopes a caller's token must carry to call the plugin; they are "
            "created in the bank's identity space when it subscribes.",
        ),
    ] = Field(default_factory=list)
    operation_scopes: Annotated[
        list[Annotated[str, Field(pattern=SCOPE)]],
        Field(
            max_length=20,
            description="Scopes only some operations need on top of `scopes` (e.g. an "
            "admin scope): created for the bank like `scopes` so its systems can ask for "
            "them, but checked by the plugin per operation, not by the gateway.",
        ),
    ] = Field(default_factory=list)
    data: DataAccess = DataAccess()
    resources: Resources = Field(default_factory=Resources)
    pricing: Pricing = Pricing()
    timeout_s: Annotated[
        float, Field(gt=0, le=300, description="Gateway timeout for one call.")
    ] = 30.0

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not semver.Version.is_valid(value):
            raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH)")
        return value

    @field_validator("plugin_api")
    @classmethod
    def _specifier(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(f'{value!r} is not a version range such as ">=1.0,<2"') from exc
        return value

    @field_validator("scopes", "operation_scopes")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    def all_scopes(self) -> list[str]:
        """Every scope a bank's systems may ask for to use the plugin."""
        return sorted({*self.scopes, *self.operation_scopes})


def plugin_api_compatible(range_: str) -> bool:
    """Whether this platform's plugin API version is inside the declared range."""
    return SpecifierSet(range_).contains(PLUGIN_API_VERSION, prereleases=True)


def version_key(version: str) -> semver.Version:
    return semver.Version.parse(version)


def manifest_json_schema() -> dict[str, Any]:
    schema = PluginManifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "TaaS plugin manifest"
    return schema


def requestable_scopes(manifest: dict[str, Any]) -> list[str]:
    """The scopes a subscribed bank's systems may ask for: the plugin's required scopes and
    those only some of its operations need."""
    return sorted({*manifest.get("scopes", []), *manifest.get("operation_scopes", [])})
