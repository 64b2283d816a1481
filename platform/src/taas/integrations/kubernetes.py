"""Tenant namespaces on Kubernetes: quota, limits, Pod Security, network isolation, RBAC."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from taas.integrations.spec import CREDENTIALS_SECRET, TenantSpec
from taas.kit.telemetry import traced
from taas.kit.errors import PermanentError, TemporaryError

T = TypeVar("T")
SUSPENDED_REPLICAS = "taas.io/replicas-before-suspend"
NAMESPACE_GONE_WAIT_S = 60.0


@lru_cache(maxsize=4)
def _api(kubeconfig: str) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig
    )
    return api


def _translate(call: Callable[[], T], what: str) -> T:
    """Run one API call, turning failures into retry-aware errors."""
    try:
        return call()
    except ApiException as exc:
        if exc.status in (429, 500, 502, 503, 504) or exc.status == 0:
            raise TemporaryError(f"Kubernetes {what}: HTTP {exc.status}", delay=2) from exc
        raise PermanentError(
            f"Kubernetes refused {what}: HTTP {exc.status} {exc.reason}: {str(exc.body)[:300]}",
            hint="check the tenant's quotas and the platform's RBAC on the cluster",
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TemporaryError(f"Kubernetes API unreachable during {what}: {exc}", delay=2) from exc


def _missing(call: Callable[[], Any]) -> Any | None:
    """The object, or None when the API says 404."""
    try:
        return call()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


class KubernetesTenants:
    """Makes a tenant's namespace and everything in it match the spec."""

    def __init__(self, kubeconfig: Path, gateway_namespace: str) -> None:
        self.kubeconfig = str(kubeconfig)
        self.gateway_namespace = gateway_namespace

    @property
    def api(self) -> client.ApiClient:
        return _api(self.kubeconfig)

    # ------------------------------------------------------------------ desired objects

    def namespace_manifest(self, spec: TenantSpec) -> dict[str, Any]:
        return {
            "metadata": {
                "name": spec.namespace,
                "labels": {
                    "taas.io/tenant": spec.slug,
                    "taas.io/tier": spec.tier,
                    "taas.io/region": spec.region,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            }
        }

    def quota_manifest(self, spec: TenantSpec) -> dict[str, Any]:
        quotas = spec.quotas
        return {
            "metadata": {"name": "tenant-quota"},
            "spec": {
                "hard": {
                    "requests.cpu": quotas.cpu,
                    "limits.cpu": quotas.cpu,
                    "requests.memory": quotas.memory,
                    "limits.memory": quotas.memory,
                    "requests.storage": f"{quotas.storage_gb}Gi",
                    "pods": "50",
                }
            },
        }

    def limit_range_manifest(self, spec: TenantSpec) -> dict[str, Any]:
        return {
            "metadata": {"name": "tenant-defaults"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "500m", "memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "max": {"cpu": spec.quotas.cpu, "memory": spec.quotas.memory},
                    }
                ]
            },
        }

    def network_policy_manifest(self, spec: TenantSpec) -> dict[str, Any]:
        del spec
        return {
            "metadata": {"name": "tenant-isolation"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": self.gateway_namespace
                                    }
                                }
                            }
                        ]
                    }
                ],
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                }
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                ],
            },
        }

    def role_manifest(self, spec: TenantSpec) -> dict[str, Any]:
        del spec
        return {
            "metadata": {"name": "tenant-workload"},
            "rules": [
                {
                    "apiGroups": ["", "apps"],
                    "resources": ["pods", "services", "configmaps", "deployments"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        }

    def role_binding_manifest(self, spec: TenantSpec) -> dict[str, Any]:
        return {
            "metadata": {"name": "tenant-workload"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "tenant-workload",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "tenant-workload", "namespace": spec.namespace}
            ],
        }

    # ------------------------------------------------------------------ operations

    @traced("kubernetes.ensure_tenant")
    def ensure(self, spec: TenantSpec) -> list[str]:
        """Create or repair the namespace and its objects; return what had to change."""
        core = client.CoreV1Api(self.api)
        net = client.NetworkingV1Api(self.api)
        rbac = client.RbacAuthorizationV1Api(self.api)
        ns = spec.namespace
        changes: list[str] = []
        wanted_ns = self.namespace_manifest(spec)
        current = _translate(lambda: _missing(lambda: core.read_namespace(ns)), "read namespace")
        if current is None:
            self._create(lambda: core.create_namespace(wanted_ns), "create namespace")
            changes.append(f"created namespace {ns}")
        else:
            labels = current.metadata.labels or {}
            if current.status.phase == "Terminating":
                raise TemporaryError(f"namespace {ns} is still terminating", delay=3)
            if any(labels.get(k) != v for k, v in wanted_ns["metadata"]["labels"].items()):
                _translate(lambda: core.patch_namespace(ns, wanted_ns), "patch namespace")
                changes.append(f"restored labels of namespace {ns}")
        namespaced: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[], Any], str]]
        quota = self.quota_manifest(spec)
        limits = self.limit_range_manifest(spec)
        policy = self.network_policy_manifest(spec)
        role = self.role_manifest(spec)
        binding = self.role_binding_manifest(spec)
        account = {"metadata": {"name": "tenant-workload"}, "automountServiceAccountToken": False}
        namespaced = [
            (
                "ResourceQuota tenant-quota",
                lambda: core.read_namespaced_resource_quota("tenant-quota", ns),
                lambda: core.create_namespaced_resource_quota(ns, quota),
                lambda: core.replace_namespaced_resource_quota("tenant-quota", ns, quota),
                "spec",
            ),
            (
                "LimitRange tenant-defaults",
                lambda: core.read_namespaced_limit_range("tenant-defaults", ns),
                lambda: core.create_namespaced_limit_range(ns, limits),
                lambda: core.replace_namespaced_limit_range("tenant-defaults", ns, limits),
                "spec",
            ),
            (
                "NetworkPolicy tenant-isolation",
                lambda: net.read_namespaced_network_policy("tenant-isolation", ns),
                lambda: net.create_namespaced_network_policy(ns, policy),
                lambda: net.replace_namespaced_network_policy("tenant-isolation", ns, policy),
                "spec",
            ),
            (
                "ServiceAccount tenant-workload",
                lambda: core.read_namespaced_service_account("tenant-workload", ns),
                lambda: core.create_namespaced_service_account(ns, account),
                lambda: core.replace_namespaced_service_account("tenant-workload", ns, account),
                "",
            ),
            (
                "Role tenant-workload",
                lambda: rbac.read_namespaced_role("tenant-workload", ns),
                lambda: rbac.create_namespaced_role(ns, role),
                lambda: rbac.replace_namespaced_role("tenant-workload", ns, role),
                "rules",
            ),
            (
                "RoleBinding tenant-workload",
                lambda: rbac.read_namespaced_role_binding("tenant-workload", ns),
                lambda: rbac.create_namespaced_role_binding(ns, binding),
                lambda: rbac.replace_namespaced_role_binding("tenant-workload", ns, binding),
                "subjects",
            ),
        ]
        manifests = {
            "ResourceQuota tenant-quota": quota,
            "LimitRange tenant-defaults": limits,
            "NetworkPolicy tenant-isolation": policy,
            "ServiceAccount tenant-workload": account,
            "Role tenant-workload": role,
            "RoleBinding tenant-workload": binding,
        }
        for label, read, create, replace, field in namespaced:
            existing = _translate(lambda read=read: _missing(read), f"read {label}")
            if existing is None:
                self._create(create, f"create {label}")
                changes.append(f"created {label}")
            elif field and not self._matches(existing, manifests[label], field):
                _translate(replace, f"replace {label}")
                changes.append(f"repaired {label}")
        return changes

    def _create(self, call: Callable[[], Any], what: str) -> None:
        try:
            _translate(call, what)
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiException) and cause.status == 409:
                return  # created by a concurrent attempt: adopt it
            raise

    def _matches(self, existing: Any, wanted: dict[str, Any], field: str) -> bool:
        actual = self.api.sanitize_for_serialization(existing).get(field)
        return _subset(wanted[field], actual)

    @traced("kubernetes.namespace_exists")
    def namespace_exists(self, spec: TenantSpec) -> bool:
        core = client.CoreV1Api(self.api)
        found = _translate(lambda: _missing(lambda: core.read_namespace(spec.namespace)), "read")
        return found is not None

    @traced("kubernetes.read_credentials")
    def read_credentials(self, spec: TenantSpec) -> dict[str, str]:
        core = client.CoreV1Api(self.api)
        secret = _translate(
            lambda: _missing(
                lambda: core.read_namespaced_secret(CREDENTIALS_SECRET, spec.namespace)
            ),
            "read credentials",
        )
        if secret is None or not secret.data:
            return {}
        return {key: base64.b64decode(value).decode() for key, value in secret.data.items()}

    @traced("kubernetes.write_credentials")
    def write_credentials(self, spec: TenantSpec, values: dict[str, str]) -> None:
        """Merge ``values`` into the tenant's credentials Secret (created when absent)."""
        core = client.CoreV1Api(self.api)
        body = {
            "metadata": {"name": CREDENTIALS_SECRET, "labels": {"taas.io/tenant": spec.slug}},
            "type": "Opaque",
            "stringData": values,
        }
        existing = _translate(
            lambda: _missing(
                lambda: core.read_namespaced_secret(CREDENTIALS_SECRET, spec.namespace)
            ),
            "read credentials",
        )
        if existing is None:
            self._create(
                lambda: core.create_namespaced_secret(spec.namespace, body), "create credentials"
            )
        else:
            _translate(
                lambda: core.patch_namespaced_secret(CREDENTIALS_SECRET, spec.namespace, body),
                "update credentials",
            )

    @traced("kubernetes.scale_workloads")
    def suspend(self, spec: TenantSpec) -> list[str]:
        """Scale every Deployment to zero, remembering its replicas in an annotation."""
        apps = client.AppsV1Api(self.api)
        changes = []
        deployments = _translate(
            lambda: apps.list_namespaced_deployment(spec.namespace).items, "list deployments"
        )
        for deployment in deployments:
            replicas = deployment.spec.replicas or 0
            if replicas == 0:
                continue
            name = deployment.metadata.name
            patch = {
                "metadata": {"annotations": {SUSPENDED_REPLICAS: str(replicas)}},
                "spec": {"replicas": 0},
            }
            _translate(
                lambda name=name, patch=patch: apps.patch_namespaced_deployment(
                    name, spec.namespace, patch
                ),
                "scale deployment",
            )
            changes.append(f"scaled deployment {name} from {replicas} to 0")
        return changes

    @traced("kubernetes.restore_workloads")
    def resume(self, spec: TenantSpec) -> list[str]:
        """Restore the replicas recorded by ``suspend``."""
        apps = client.AppsV1Api(self.api)
        changes = []
        deployments = _translate(
            lambda: apps.list_namespaced_deployment(spec.namespace).items, "list deployments"
        )
        for deployment in deployments:
            before = (deployment.metadata.annotations or {}).get(SUSPENDED_REPLICAS)
            if before is None:
                continue
            name = deployment.metadata.name
            patch = {
                "metadata": {"annotations": {SUSPENDED_REPLICAS: None}},
                "spec": {"replicas": int(before)},
            }
            _translate(
                lambda name=name, patch=patch: apps.patch_namespaced_deployment(
                    name, spec.namespace, patch
                ),
                "restore deployment",
            )
            changes.append(f"restored deployment {name} to {before} replicas")
        return changes

    @traced("kubernetes.delete_namespace")
    def remove(self, spec: TenantSpec) -> list[str]:
        """Delete the namespace and wait until the API server no longer has it."""
        core = client.CoreV1Api(self.api)
        existing = _translate(
            lambda: _missing(lambda: core.read_namespace(spec.namespace)), "read namespace"
        )
        if existing is None:
            return []
        _translate(
            lambda: _missing(lambda: core.delete_namespace(spec.namespace)), "delete namespace"
        )
        deadline = time.monotonic() + NAMESPACE_GONE_WAIT_S
        while time.monotonic() < deadline:
            gone = _translate(
                lambda: _missing(lambda: core.read_namespace(spec.namespace)), "read namespace"
            )
            if gone is None:
                return [f"deleted namespace {spec.namespace}"]
            time.sleep(0.5)
        raise TemporaryError(f"namespace {spec.namespace} is still terminating", delay=5)


def _subset(wanted: Any, actual: Any) -> bool:
    """True when every field of ``wanted`` is present with the same value in ``actual``.

    The API server adds defaults (and normalises quantities such as ``1Gi``), so a full
    equality would report drift that is not there.
    """
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            _subset(value, actual.get(key)) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(wanted) == len(actual)
            and all(_subset(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    return bool(wanted == actual) or str(wanted) == str(actual)
