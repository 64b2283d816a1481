"""All adapters, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from taas.integrations.identity import IdentityTenants
from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.postgres import PostgresTenants
from taas.integrations.storage import StorageTenants
from taas.integrations.workloads import ModuleWorkloads, Placement
from taas.kit.settings import AppSettings, app_settings


@dataclass(frozen=True)
class Systems:
    """The four outside systems a tenant lives in."""

    kubernetes: KubernetesTenants
    postgres: PostgresTenants
    storage: StorageTenants
    identity: IdentityTenants
    placement: Placement = field(default_factory=Placement)

    @property
    def modules(self) -> ModuleWorkloads:
        return ModuleWorkloads(self.kubernetes, self.placement)

    @classmethod
    def from_settings(cls, settings: AppSettings) -> Systems:
        return cls(
            kubernetes=KubernetesTenants(
                settings.kubeconfig,
                settings.gateway_namespace,
                settings.modules_namespace,
                dns_peers=settings.cluster_dns_peers,
            ),
            postgres=PostgresTenants(settings.database_url, settings.tenants_database),
            storage=StorageTenants(
                settings.minio_endpoint,
                settings.minio_access_key,
                settings.minio_secret_key,
                secure=settings.minio_secure,
            ),
            identity=IdentityTenants(
                settings.keycloak_url,
                settings.keycloak_admin_user,
                settings.keycloak_admin_password,
                banks_realm=settings.banks_realm,
                platform_realm=settings.platform_realm,
                vendors_realm=settings.vendors_realm,
                client_id=settings.keycloak_client_id,
                client_secret=settings.keycloak_client_secret,
            ),
            placement=Placement(
                node_selector=settings.module_node_selector,
                tolerations=settings.module_tolerations,
                ready_timeout_s=settings.module_ready_timeout_s,
                platform_url=settings.module_platform_url,
                egress=settings.module_egress,
            ),
        )


@lru_cache
def systems() -> Systems:
    return Systems.from_settings(app_settings())
