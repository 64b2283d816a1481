"""Settings of the local stack, read from ``TAAS_*`` environment variables.

Every field says what it is for; ``taas stack env`` prints the values in force.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from taas.kit.errors import ConfigurationError


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_cache_dir() -> Path:
    """Where long builds are kept: ``$XDG_CACHE_HOME/taas`` (``~/.cache/taas``)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "taas"


def default_state_dir() -> Path:
    """Where running servers keep data, logs and pid files: ``~/.local/state/taas``."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "taas"


# Root users the local stack and MinIO/Keycloak ship with: never the control plane's identity
# in production.
DEV_ROOT_USERS = frozenset({"minioadmin", "taas-root", "admin", "taas-admin"})
DEV_SECRETS = frozenset({"minioadmin", "admin", "password", "changeme", "secret"})
MIN_SECRET_LENGTH = 24
# `taas stack env` exports this: whoever has it runs on the local stack's generated secrets.
LOCAL_STACK_MARKER = "TAAS_LOCAL_STACK_SECRETS"


class StackSettings(BaseSettings):
    """Where the local stack lives and which loopback ports it listens on."""

    model_config = SettingsConfigDict(env_prefix="TAAS_", extra="ignore", frozen=True)

    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Build cache shared by every checkout on this machine (binaries, "
        "Keycloak distribution). Safe to delete; the next install rebuilds it.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Data, logs, pid files, certificates and generated secrets of the "
        "running stack. Delete it (after `taas stack down`) to start from nothing.",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address every server binds to. Must be a loopback address.",
    )
    postgres_port: int = Field(default=55432, description="PostgreSQL 15 cluster `taas`.")
    redis_port: int = Field(default=56379, description="Redis 7, the Celery broker.")
    minio_port: int = Field(default=59000, description="MinIO S3 API.")
    minio_console_port: int = Field(default=59001, description="MinIO web console.")
    keycloak_port: int = Field(default=58080, description="Keycloak HTTP endpoint.")
    keycloak_management_port: int = Field(
        default=58081, description="Keycloak management endpoint (health, metrics)."
    )
    etcd_port: int = Field(default=52379, description="etcd client port.")
    etcd_peer_port: int = Field(default=52380, description="etcd peer port.")
    apiserver_port: int = Field(default=56443, description="kube-apiserver HTTPS port.")
    controller_manager_port: int = Field(
        default=50257, description="kube-controller-manager health/metrics HTTPS port."
    )
    scheduler_port: int = Field(
        default=50259, description="kube-scheduler health/metrics HTTPS port."
    )
    kwok_port: int = Field(default=50247, description="kwok controller health/metrics port.")
    kubelet_port: int = Field(default=50250, description="The real node's kubelet API (HTTPS).")
    kubelet_healthz_port: int = Field(default=50248, description="kubelet health endpoint.")
    kube_proxy_healthz_port: int = Field(default=50256, description="kube-proxy health endpoint.")
    kube_proxy_metrics_port: int = Field(default=50249, description="kube-proxy metrics.")
    coredns_health_port: int = Field(default=50253, description="CoreDNS liveness endpoint.")
    coredns_ready_port: int = Field(default=50254, description="CoreDNS readiness endpoint.")
    netpol_metrics_port: int = Field(
        default=50255, description="The NetworkPolicy enforcer's (kube-router) metrics."
    )
    metrics_server_port: int = Field(
        default=50251,
        description="metrics-server's HTTPS API, on the pod bridge's address (10.244.0.1, "
        "not loopback: an APIService's endpoint may not be); kube-apiserver proxies to it, "
        "pods are refused.",
    )
    registry_port: int = Field(
        default=55000, description="The OCI image registry (HTTPS, the stack's CA)."
    )
    api_port: int = Field(default=58000, description="The control-plane API (`taas platform up`).")
    gateway_port: int = Field(
        default=58100, description="The gateway, the data plane (`taas gateway run`)."
    )
    start_timeout_s: float = Field(
        default=240.0, description="How long `taas stack up` waits for one component."
    )

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if not ipaddress.ip_address(value).is_loopback:
            raise ValueError(f"{value} is not a loopback address; the stack binds only to loopback")
        return value

    @field_validator(
        "postgres_port",
        "redis_port",
        "minio_port",
        "minio_console_port",
        "keycloak_port",
        "keycloak_management_port",
        "etcd_port",
        "etcd_peer_port",
        "apiserver_port",
        "controller_manager_port",
        "scheduler_port",
        "kwok_port",
        "registry_port",
        "kubelet_port",
        "kubelet_healthz_port",
        "kube_proxy_healthz_port",
        "kube_proxy_metrics_port",
        "coredns_health_port",
        "coredns_ready_port",
        "netpol_metrics_port",
        "metrics_server_port",
        "api_port",
        "gateway_port",
    )
    @classmethod
    def _valid_port(cls, value: int) -> int:
        if not 1024 <= value <= 65535:
            raise ValueError(f"port {value} is outside 1024-65535")
        return value


@lru_cache
def stack_settings() -> StackSettings:
    """The settings in force for this process."""
    return StackSettings()


class AppSettings(BaseSettings):
    """Where the control plane finds its servers. `eval "$(taas stack env)"` sets them locally."""

    model_config = SettingsConfigDict(env_prefix="TAAS_", extra="ignore", frozen=True)

    environment: str = Field(
        default="development",
        description="`development`, `test` or `production`. Production refuses to start with root "
        "keys (MinIO root user, Keycloak master admin) or the local stack's dev secrets; see "
        "``production_problems``.",
    )
    database_url: str = Field(description="Control-plane database (SQLAlchemy/psycopg URL).")
    tenants_database: str = Field(
        default="taas_tenants",
        description="Database that holds one schema per pool-tier tenant.",
    )
    celery_broker_url: str = Field(description="Celery broker (Redis).")
    redis_url: str = Field(description="Redis for Celery results and counters.")
    keycloak_url: str = Field(description="Keycloak base URL.")
    keycloak_client_id: str = Field(
        default="",
        description="The control plane's service-account client in Keycloak's master realm "
        "(least privilege: create-realm and the management roles of the TaaS realms). "
        "When set, it is used instead of the admin user.",
    )
    keycloak_client_secret: str = Field(
        default="", description="Secret of the service-account client."
    )
    keycloak_admin_user: str = Field(
        default="",
        description="Keycloak master-realm admin user: only for `taas platform init` and "
        "development without a service-account client; refused in production.",
    )
    keycloak_admin_password: str = Field(
        default="", description="Password of the Keycloak admin user (see above)."
    )
    minio_endpoint: str = Field(description="MinIO S3 endpoint host:port.")
    minio_access_key: str = Field(
        description="The control plane's MinIO identity (least privilege: tenant buckets and "
        "the user and policy administration of tenant identities), never the root user."
    )
    minio_secret_key: str = Field(description="Secret key of that MinIO identity.")
    minio_root_user: str = Field(
        default="",
        description="MinIO root user: only for `taas platform init` (which creates the "
        "control plane's own identity); refused in production.",
    )
    minio_root_password: str = Field(default="", description="MinIO root password.")
    minio_secure: bool = Field(default=False, description="Use HTTPS to reach MinIO.")
    kubeconfig: Path = Field(
        validation_alias="KUBECONFIG", description="Kubeconfig of the cluster tenants live in."
    )
    platform_realm: str = Field(
        default="taas-platform", description="Keycloak realm of platform operators and auditors."
    )
    banks_realm: str = Field(
        default="taas-banks", description="Shared Keycloak realm of pool-tier banks (orgs)."
    )
    vendors_realm: str = Field(
        default="taas-vendors", description="Keycloak realm of plugin vendors (one client each)."
    )
    modules_namespace: str = Field(
        default="taas-modules", description="Namespace of modules shared by pool-tier banks."
    )
    gateway_namespace: str = Field(
        default="taas-gateway",
        description="Namespace of the gateway; the only one tenant namespaces admit traffic from.",
    )
    step_retry_limit: int = Field(
        default=5, description="Attempts of a saga step on temporary errors before it fails."
    )
    step_retry_base_s: float = Field(
        default=1.0, description="First retry delay of a saga step; doubles on each attempt."
    )
    reconcile_interval_s: float = Field(
        default=60.0, description="How often the reconciler compares desired and actual state."
    )
    outbox_relay_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often the outbox relay sends operations whose process died between "
        "committing them and handing them to the workers (those older than this interval).",
    )
    stalled_after_s: float = Field(
        default=45.0,
        description="An open operation untouched this long is handed to another worker "
        "(a lock makes sure only one runs it).",
    )
    validation_attempts_limit: int = Field(
        default=3,
        ge=1,
        description="Starts of one plugin validation's checks (each handed to another "
        "worker by the operations relay when its worker died) before the version is failed "
        "as `invalid` with a report.",
    )
    task_visibility_timeout_s: float = Field(
        default=3600.0, description="Redis broker: when an unacknowledged task is redelivered."
    )
    gateway_connect_timeout_s: float = Field(
        default=2.0,
        description="Gateway: how long to wait for a TCP connection to a module upstream "
        "(the route's timeout_s bounds the whole call).",
    )
    gateway_cluster_dns: str = Field(
        default="",
        description="Gateway outside the cluster (the local stack): the cluster DNS server "
        "(``host:port``) that resolves modules' Service names (``*.svc.cluster.local``). "
        "Empty: the system's resolver, as in a pod.",
    )
    module_platform_url: str = Field(
        default="",
        description="The control plane's API as module pods reach it (``TAAS_PLATFORM_URL`` "
        "of their pods: where they exchange storage grants). Empty: not set in pods.",
    )
    module_storage_endpoint: str = Field(
        default="",
        description="Object storage (``host:port``) as modules reach it: the endpoint given "
        "with their storage credentials. Empty: ``minio_endpoint``.",
    )
    cluster_dns_peers: list[dict[str, Any]] = Field(
        default_factory=lambda: [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
        ],
        description="Where pods reach the cluster DNS, as NetworkPolicy peers (JSON list): "
        "the only place outside its namespace a tenant's pod may send to.",
    )
    module_egress: list[dict[str, Any]] = Field(
        default_factory=lambda: [
            {
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        }
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ],
        description="NetworkPolicy egress rules of every module and plugin pod (JSON list): "
        "what they may reach besides nothing (default: the cluster DNS in kube-system). Add "
        "the API and object storage for modules that use storage.",
    )
    module_node_selector: dict[str, str] = Field(
        default_factory=dict,
        description="Node labels module and plugin pods must be scheduled on (JSON object).",
    )
    module_tolerations: list[dict[str, str]] = Field(
        default_factory=list,
        description="Taints module and plugin pods tolerate (JSON list of tolerations).",
    )
    module_ready_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="How long a subscription waits for its module's pods to be Ready before "
        "it fails with the pods' reason (image pull, crash, readiness).",
    )
    route_switch_grace_s: float = Field(
        default=5.0,
        ge=0,
        description="After a version change moves a pool bank's route, how long the previous "
        "version's shared pods keep serving before they are retired (time for every gateway "
        "to apply the change; calls in flight then finish in the pods' graceful stop).",
    )
    gateway_upstream_connections: int = Field(
        default=512,
        description="Gateway: most pooled keep-alive connections to all upstreams together.",
    )
    gateway_jwks_refetch_s: float = Field(
        default=10.0,
        description="Gateway: least time between two fetches of one issuer's signing keys "
        "when a token names an unknown key id.",
    )
    gateway_jwks_max_age_s: float = Field(
        default=300.0,
        description="Gateway: signing keys older than this are fetched again before they "
        "verify a token not seen before (so a removed key stops working).",
    )
    gateway_token_cache_size: int = Field(
        default=20000,
        description="Gateway: verified tokens kept (each until its expiry) so a signature is "
        "checked once per token, not once per call.",
    )
    gateway_redis_timeout_s: float = Field(
        default=0.5,
        description="Gateway: longest wait for the rate limiter in Redis; past it the call is "
        "refused with 503 (fail closed).",
    )
    storage_grant_secret: str = Field(
        default="",
        description="Key the gateways sign storage grants with and the API checks them with "
        "(empty: no grants, modules get no storage credentials).",
    )
    storage_grant_ttl_s: int = Field(default=300, description="Lifetime of a storage grant.")
    storage_credentials_ttl_s: int = Field(
        default=900,
        ge=900,
        le=43200,
        description="Lifetime of the STS credentials minted for a module (STS grants 900 s "
        "to 12 h; unsubscribing, revoking or suspending ends them earlier).",
    )
    approval_ttl_s: int = Field(
        default=86_400,
        ge=60,
        description="How long a maker-checker request waits for a second operator before it "
        "expires (then it must be requested again).",
    )
    offboard_approval_below_days: int = Field(
        default=30,
        ge=0,
        description="Offboarding that keeps data for fewer days than this needs a second "
        "operator's approval; 0 would let any offboarding run on one operator's call.",
    )
    gateway_redis_connections: int = Field(
        default=32,
        description="Gateway: most connections to Redis; calls wait for a free one (up to "
        "gateway_redis_timeout_s) rather than fail.",
    )
    gateway_metering_interval_s: float = Field(
        default=1.0, description="Gateway: how often metered usage is written to usage_daily."
    )
    gateway_reload_coalesce_s: float = Field(
        default=0.01,
        description="Gateway: after a route-change notification, wait this long for the rest "
        "of the burst, then apply the burst once.",
    )
    gateway_route_max_incremental: int = Field(
        default=500,
        ge=0,
        description="Gateway: a burst of route changes naming more subscriptions, tenants, "
        "versions and vendors than this is applied by reloading the whole route table "
        "instead of re-reading the rows named (0: always reload everything).",
    )

    audit_checkpoint_key: str = Field(
        default="",
        description="Key (HMAC-SHA256) the signed checkpoints of the audit chain's head are "
        "made and checked with. Keep it out of the database (a secret of the API and "
        "workers only). Empty: no checkpoints, and `audit verify` says the chain is not "
        "anchored; the API and workers refuse to start without it in production.",
    )
    audit_checkpoint_bucket: str = Field(
        default="taas-audit-checkpoints",
        description="MinIO bucket the checkpoints are written to; created with object lock "
        "in compliance mode (nobody, root included, can delete or overwrite a checkpoint "
        "before its retention ends).",
    )
    audit_checkpoint_prefix: str = Field(
        default="taas",
        description="Key prefix of this control plane's checkpoints in the bucket: one per "
        "audit chain (a new, empty control-plane database needs a new prefix).",
    )
    audit_checkpoint_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the head of the audit chain is checkpointed (when it moved). "
        "Events newer than the last checkpoint can still be removed or rewritten without "
        "`audit verify` noticing: at most this long of history.",
    )
    audit_checkpoint_retention_days: int = Field(
        default=2557,
        ge=1,
        description="Compliance-mode retention of each checkpoint (default 7 years).",
    )

    def require_audit_anchor(self) -> None:
        """Refuse to run in production without the audit checkpoint key (the API and the
        workers call this when they start; the gateway never needs the key)."""
        if self.environment == "production" and not self.audit_checkpoint_key:
            raise ConfigurationError(
                "TAAS_AUDIT_CHECKPOINT_KEY is not set: in production the audit chain must "
                "be anchored outside the database",
                hint="set TAAS_AUDIT_CHECKPOINT_KEY for the API and the workers (a random "
                "secret kept out of the database and its backups)",
            )

    def production_problems(self) -> list[str]:
        """Why these settings may not run in production (empty: they may)."""
        problems = []
        if self.keycloak_admin_user or self.keycloak_admin_password:
            problems.append(
                "TAAS_KEYCLOAK_ADMIN_USER/PASSWORD (the master-realm admin) are set: give the "
                "control plane only its service-account client (TAAS_KEYCLOAK_CLIENT_ID/SECRET)"
            )
        if not (self.keycloak_client_id and self.keycloak_client_secret):
            problems.append("TAAS_KEYCLOAK_CLIENT_ID and TAAS_KEYCLOAK_CLIENT_SECRET are not set")
        if self.minio_root_user or self.minio_root_password:
            problems.append("TAAS_MINIO_ROOT_USER/PASSWORD (MinIO's root) are set")
        if self.minio_access_key in DEV_ROOT_USERS or self.minio_access_key == self.minio_root_user:
            problems.append(f"TAAS_MINIO_ACCESS_KEY {self.minio_access_key!r} is a root user")
        if self.keycloak_admin_user in DEV_ROOT_USERS:
            problems.append("the Keycloak admin is the local stack's")
        secrets = {
            "TAAS_STORAGE_GRANT_SECRET": self.storage_grant_secret,
            "TAAS_MINIO_SECRET_KEY": self.minio_secret_key,
            "TAAS_KEYCLOAK_CLIENT_SECRET": self.keycloak_client_secret,
        }
        for name, value in secrets.items():
            if len(value) < MIN_SECRET_LENGTH or value in DEV_SECRETS:
                problems.append(
                    f"{name} is empty, a known default or shorter than "
                    f"{MIN_SECRET_LENGTH} characters"
                )
        if os.environ.get(LOCAL_STACK_MARKER):
            problems.append(
                f"{LOCAL_STACK_MARKER} is set: these are the local stack's generated dev secrets"
            )
        return problems

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> AppSettings:
        if self.environment == "production":
            problems = self.production_problems()
            if problems:
                raise ValueError(
                    "TAAS_ENVIRONMENT=production refuses to start: " + "; ".join(problems)
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """``database_url`` with the psycopg 3 driver named, as SQLAlchemy wants it."""
        scheme, rest = self.database_url.split("://", 1)
        return (
            f"postgresql+psycopg://{rest}"
            if scheme in {"postgresql", "postgres"}
            else self.database_url
        )


@lru_cache
def app_settings() -> AppSettings:
    """The control plane's settings (read once per process)."""
    return AppSettings()  # filled from the environment
