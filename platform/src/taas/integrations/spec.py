"""What the adapters need to know about a tenant, and the names derived from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Quotas:
    """Resource limits of one tenant."""

    cpu: str = "2"
    memory: str = "4Gi"
    storage_gb: int = 10
    requests_per_second: int = 50


@dataclass(frozen=True)
class TenantSpec:
    """Desired state of one tenant, as the adapters see it."""

    id: uuid.UUID
    slug: str
    tier: str
    region: str
    quotas: Quotas = field(default_factory=Quotas)
    object_lock: bool = False
    display_name: str = ""
    admin_email: str | None = None

    @property
    def isolated(self) -> bool:
        """silo and dedicated tenants get their own realm and database."""
        return self.tier in {"silo", "dedicated"}

    @property
    def namespace(self) -> str:
        return f"tenant-{self.slug}"

    @property
    def bucket(self) -> str:
        return f"tenant-{self.slug}"

    @property
    def storage_user(self) -> str:
        return f"tenant-{self.slug}-svc"

    @property
    def db_name(self) -> str:
        """Role name, and schema (pool) or database (silo/dedicated) name."""
        return "t_" + self.slug.replace("-", "_")

    @property
    def realm(self) -> str:
        return f"bank-{self.slug}"

    @property
    def admin_username(self) -> str:
        return f"{self.slug}-admin"

    @property
    def systems_client(self) -> str:
        return f"{self.slug}-systems"


@dataclass(frozen=True)
class ModuleSpec:
    """One plugin version as the adapters deploy it for a subscription."""

    name: str
    version: str
    image: str | None
    port: int
    upstream_url: str | None
    cpu: str = "100m"  # request of one replica
    memory: str = "128Mi"
    replicas: int = 1  # the least, when autoscaled
    scopes: tuple[str, ...] = ()
    health_path: str = "/healthz"
    uses_storage: bool = False  # declares access to the tenant's bucket
    cpu_limit: str | None = None  # None: the larger of cpu and one core
    max_replicas: int | None = None  # above replicas: autoscaled on CPU
    cpu_target_percent: int = 70

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas is not None and self.max_replicas > self.replicas

    @property
    def runs_image(self) -> bool:
        """True when the platform runs the module's image; False for a development module
        that runs wherever its vendor runs it, reached by ``upstream_url``."""
        return self.image is not None

    @property
    def workload(self) -> str:
        """Name of the Deployment and Service in the tenant namespace (silo)."""
        return f"mod-{self.name}"

    @property
    def shared_workload(self) -> str:
        """Name of the Deployment and Service shared by pool tenants: one per version."""
        version = "".join(c if c.isalnum() else "-" for c in self.version.lower())
        return f"{self.name}-v{version}"[:63].rstrip("-")


CREDENTIALS_SECRET = "taas-tenant-credentials"  # noqa: S105 - a Secret name
