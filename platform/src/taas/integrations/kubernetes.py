"""Tenant namespaces on Kubernetes: quota, limits, Pod Security, network isolation, RBAC."""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from taas.integrations.spec import CREDENTIALS_SECRET, TenantSpec
from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.telemetry import traced

T = TypeVar("T")
SUSPENDED_REPLICAS = "taas.io/replicas-before-suspend"
NAMESPACE_GONE_WAIT_S = 60.0


@lru_cache(maxsize=4)
def _dynamic(kubeconfig: str) -> Any:
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig
    )
    return dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]


def _translate(call: Callable[[], T], what: str) -> T:
    """Run one API call, turning failures into retry-aware errors."""
    try:
        return call()
    except DynamicApiError as exc:
        status = int(getattr(exc, "status", 0) or 0)
        if status in (0, 429, 500, 502, 503, 504):
            raise TemporaryError(f"Kubernetes {what}: HTTP {status}", delay=2) from exc
        raise PermanentError(
            f"Kubernetes refused {what}: HTTP {status}: {str(exc)[:300]}",
            hint="check the tenant's quotas and the platform's RBAC on the cluster",
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TemporaryError(f"Kubernetes API unreachable during {what}: {exc}", delay=2) from exc


def _status(exc: BaseException | None) -> int:
    return int(getattr(exc, "status", 0) or 0) if isinstance(exc, DynamicApiError) else 0


class KubernetesTenants:
    """Makes a tenant's namespace and everything in it match the spec."""

    def __init__(
        self, kubeconfig: Path, gateway_namespace: str, modules_namespace: str = "taas-modules"
    ) -> None:
        self.kubeconfig = str(kubeconfig)
        self.gateway_namespace = gateway_namespace
        self.modules_namespace = modules_namespace

    @property
    def client(self) -> Any:
        """The dynamic client: manifests in, plain dicts out."""
        return _dynamic(self.kubeconfig)

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

    def desired_objects(self, spec: TenantSpec) -> list[tuple[str, str, dict[str, Any], str]]:
        """(apiVersion, kind, manifest, field compared for drift) of each namespaced object."""
        account = {"metadata": {"name": "tenant-workload"}, "automountServiceAccountToken": False}
        return [
            ("v1", "ResourceQuota", self.quota_manifest(spec), "spec"),
            ("v1", "LimitRange", self.limit_range_manifest(spec), "spec"),
            ("networking.k8s.io/v1", "NetworkPolicy", self.network_policy_manifest(spec), "spec"),
            ("v1", "ServiceAccount", account, "automountServiceAccountToken"),
            ("rbac.authorization.k8s.io/v1", "Role", self.role_manifest(spec), "rules"),
            (
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                self.role_binding_manifest(spec),
                "subjects",
            ),
        ]

    # ------------------------------------------------------------------ operations

    def _resource(self, api_version: str, kind: str) -> Any:
        return _translate(
            lambda: self.client.resources.get(api_version=api_version, kind=kind), f"find {kind}"
        )

    def _read(self, api_version: str, kind: str, name: str, namespace: str | None) -> Any | None:
        resource = self._resource(api_version, kind)
        try:
            return _translate(lambda: resource.get(name=name, namespace=namespace), f"read {kind}")
        except PermanentError as exc:
            if _status(exc.__cause__) == 404:
                return None
            raise

    def _create(
        self, api_version: str, kind: str, body: dict[str, Any], namespace: str | None
    ) -> None:
        resource = self._resource(api_version, kind)
        try:
            _translate(lambda: resource.create(body=body, namespace=namespace), f"create {kind}")
        except PermanentError as exc:
            if _status(exc.__cause__) != 409:  # 409: created by a concurrent attempt; adopt it
                raise

    def apply(self, body: dict[str, Any], namespace: str | None, field: str = "spec") -> str | None:
        """Create ``body`` or replace it when ``field`` differs; a change description or None."""
        api_version, kind, name = body["apiVersion"], body["kind"], body["metadata"]["name"]
        existing = self._read(api_version, kind, name, namespace)
        if existing is None:
            self._create(api_version, kind, body, namespace)
            return f"created {kind} {namespace}/{name}"
        current = existing.to_dict()
        if _subset(body.get(field), current.get(field)) and _subset(
            body["metadata"].get("labels"), current["metadata"].get("labels")
        ):
            return None
        resource = self._resource(api_version, kind)
        replacement = {
            **body,
            "metadata": {**body["metadata"], "resourceVersion": existing.metadata.resourceVersion},
        }
        _translate(
            functools.partial(resource.replace, body=replacement, namespace=namespace),
            f"replace {kind}",
        )
        return f"updated {kind} {namespace}/{name}"

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> str | None:
        """Delete one object; None when it was already gone."""
        resource = self._resource(api_version, kind)
        try:
            _translate(lambda: resource.delete(name=name, namespace=namespace), f"delete {kind}")
        except PermanentError as exc:
            if _status(exc.__cause__) == 404:
                return None
            raise
        return f"deleted {kind} {namespace}/{name}"

    def list_names(self, api_version: str, kind: str, namespace: str, selector: str) -> list[str]:
        return list(self.list_labels(api_version, kind, namespace, selector))

    def list_labels(
        self, api_version: str, kind: str, namespace: str, selector: str
    ) -> dict[str, dict[str, str]]:
        """The labels of each object of ``kind`` that ``selector`` matches, by name."""
        resource = self._resource(api_version, kind)
        listing = _translate(
            lambda: resource.get(namespace=namespace, label_selector=selector), f"list {kind}"
        )
        return {
            item["metadata"]["name"]: dict(item["metadata"].get("labels") or {})
            for item in listing.to_dict().get("items", [])
        }

    @traced("kubernetes.ensure_tenant")
    def ensure(self, spec: TenantSpec) -> list[str]:
        """Create or repair the namespace and its objects; return what had to change."""
        ns = spec.namespace
        changes: list[str] = []
        wanted_ns = {"apiVersion": "v1", "kind": "Namespace", **self.namespace_manifest(spec)}
        current = self._read("v1", "Namespace", ns, None)
        if current is None:
            self._create("v1", "Namespace", wanted_ns, None)
            changes.append(f"created namespace {ns}")
        else:
            current_dict = current.to_dict()
            if current_dict.get("status", {}).get("phase") == "Terminating":
                raise TemporaryError(f"namespace {ns} is still terminating", delay=3)
            if not _subset(wanted_ns["metadata"]["labels"], current_dict["metadata"].get("labels")):
                resource = self._resource("v1", "Namespace")
                _translate(lambda: resource.patch(body=wanted_ns, name=ns), "patch namespace")
                changes.append(f"restored labels of namespace {ns}")
        for api_version, kind, manifest, field in self.desired_objects(spec):
            body = {"apiVersion": api_version, "kind": kind, **manifest}
            name = manifest["metadata"]["name"]
            existing = self._read(api_version, kind, name, ns)
            if existing is None:
                self._create(api_version, kind, body, ns)
                changes.append(f"created {kind} {name}")
            elif not _subset(manifest.get(field), existing.to_dict().get(field)):
                resource = self._resource(api_version, kind)
                body["metadata"] = {
                    **body["metadata"],
                    "resourceVersion": existing.metadata.resourceVersion,
                }
                _translate(
                    functools.partial(resource.replace, body=body, namespace=ns), f"replace {kind}"
                )
                changes.append(f"repaired {kind} {name}")
        return changes

    @traced("kubernetes.namespace_exists")
    def namespace_exists(self, spec: TenantSpec) -> bool:
        return self._read("v1", "Namespace", spec.namespace, None) is not None

    def object_exists(self, spec: TenantSpec, api_version: str, kind: str, name: str) -> bool:
        return self._read(api_version, kind, name, spec.namespace) is not None

    @traced("kubernetes.read_credentials")
    def read_credentials(self, spec: TenantSpec) -> dict[str, str]:
        secret = self._read("v1", "Secret", CREDENTIALS_SECRET, spec.namespace)
        if secret is None:
            return {}
        data = secret.to_dict().get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    @traced("kubernetes.write_credentials")
    def write_credentials(self, spec: TenantSpec, values: dict[str, str]) -> None:
        """Merge ``values`` into the tenant's credentials Secret (created when absent)."""
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": CREDENTIALS_SECRET, "labels": {"taas.io/tenant": spec.slug}},
            "type": "Opaque",
            "stringData": values,
        }
        if self._read("v1", "Secret", CREDENTIALS_SECRET, spec.namespace) is None:
            self._create("v1", "Secret", body, spec.namespace)
        else:
            resource = self._resource("v1", "Secret")
            _translate(
                lambda: resource.patch(
                    body=body,
                    name=CREDENTIALS_SECRET,
                    namespace=spec.namespace,
                    content_type="application/merge-patch+json",
                ),
                "update credentials",
            )

    def _scale(self, spec: TenantSpec, *, suspend: bool) -> list[str]:
        resource = self._resource("apps/v1", "Deployment")
        listing = _translate(lambda: resource.get(namespace=spec.namespace), "list deployments")
        changes = []
        for item in listing.to_dict().get("items", []):
            name = item["metadata"]["name"]
            annotations = item["metadata"].get("annotations") or {}
            replicas = item.get("spec", {}).get("replicas") or 0
            if suspend and replicas > 0:
                patch: dict[str, Any] = {
                    "metadata": {"annotations": {SUSPENDED_REPLICAS: str(replicas)}},
                    "spec": {"replicas": 0},
                }
                changes.append(f"scaled deployment {name} from {replicas} to 0")
            elif not suspend and SUSPENDED_REPLICAS in annotations:
                before = int(annotations[SUSPENDED_REPLICAS])
                patch = {
                    "metadata": {"annotations": {SUSPENDED_REPLICAS: None}},
                    "spec": {"replicas": before},
                }
                changes.append(f"restored deployment {name} to {before} replicas")
            else:
                continue
            _translate(
                functools.partial(
                    resource.patch,
                    body=patch,
                    name=name,
                    namespace=spec.namespace,
                    content_type="application/merge-patch+json",
                ),
                "scale deployment",
            )
        return changes

    @traced("kubernetes.scale_workloads_to_zero")
    def suspend(self, spec: TenantSpec) -> list[str]:
        """Scale every Deployment to zero, remembering its replicas in an annotation."""
        return self._scale(spec, suspend=True)

    @traced("kubernetes.restore_workloads")
    def resume(self, spec: TenantSpec) -> list[str]:
        """Restore the replicas recorded by ``suspend``."""
        return self._scale(spec, suspend=False)

    @traced("kubernetes.delete_namespace")
    def remove(self, spec: TenantSpec) -> list[str]:
        """Delete the namespace and wait until the API server no longer has it."""
        if self._read("v1", "Namespace", spec.namespace, None) is None:
            return []
        resource = self._resource("v1", "Namespace")
        try:
            _translate(lambda: resource.delete(name=spec.namespace), "delete namespace")
        except PermanentError as exc:
            if _status(exc.__cause__) != 404:
                raise
        deadline = time.monotonic() + NAMESPACE_GONE_WAIT_S
        while time.monotonic() < deadline:
            if self._read("v1", "Namespace", spec.namespace, None) is None:
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
