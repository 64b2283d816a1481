"""Tenant namespaces on Kubernetes: quota, limits, Pod Security, network isolation, RBAC,
the credentials Secret, and scaling a tenant's workloads down and back up."""

from __future__ import annotations

import base64
import time
from typing import Any

from taas.integrations.kubernetes.manifests import TenantManifests
from taas.integrations.kubernetes.objects import KubernetesObjects, status_of, subset, translate
from taas.integrations.spec import CREDENTIALS_SECRET, TenantSpec
from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.telemetry import traced

SUSPENDED_REPLICAS = "taas.io/replicas-before-suspend"
NAMESPACE_GONE_WAIT_S = 60.0


class KubernetesTenants(TenantManifests, KubernetesObjects):
    """Makes a tenant's namespace and everything in it match the spec."""

    @traced("kubernetes.ensure_tenant")
    def ensure(self, spec: TenantSpec) -> list[str]:
        """Create or repair the namespace and its objects; return what had to change."""
        ns = spec.namespace
        changes = self._ensure_namespace(spec)
        for api_version, kind, manifest, field in self.desired_objects(spec):
            body = {"apiVersion": api_version, "kind": kind, **manifest}
            name = manifest["metadata"]["name"]
            existing = self._read(api_version, kind, name, ns)
            if existing is None:
                self._create(api_version, kind, body, ns)
                changes.append(f"created {kind} {name}")
            elif not subset(manifest.get(field), existing.to_dict().get(field)):
                self._replace(body, existing, ns)
                changes.append(f"repaired {kind} {name}")
        return changes

    def _ensure_namespace(self, spec: TenantSpec) -> list[str]:
        ns = spec.namespace
        wanted = {"apiVersion": "v1", "kind": "Namespace", **self.namespace_manifest(spec)}
        current = self._read("v1", "Namespace", ns, None)
        if current is None:
            self._create("v1", "Namespace", wanted, None)
            return [f"created namespace {ns}"]
        current_dict = current.to_dict()
        if current_dict.get("status", {}).get("phase") == "Terminating":
            raise TemporaryError(f"namespace {ns} is still terminating", delay=3)
        if subset(wanted["metadata"]["labels"], current_dict["metadata"].get("labels")):
            return []
        resource = self._resource("v1", "Namespace")
        translate(lambda: resource.patch(body=wanted, name=ns), "patch namespace")
        return [f"restored labels of namespace {ns}"]

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
            self._merge_patch(
                resource, body, CREDENTIALS_SECRET, spec.namespace, "update credentials"
            )

    def _scale(self, spec: TenantSpec, *, suspend: bool) -> list[str]:
        resource = self._resource("apps/v1", "Deployment")
        listing = translate(lambda: resource.get(namespace=spec.namespace), "list deployments")
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
            self._merge_patch(resource, patch, name, spec.namespace, "scale deployment")
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
            translate(lambda: resource.delete(name=spec.namespace), "delete namespace")
        except PermanentError as exc:
            if status_of(exc.__cause__) != 404:
                raise
        deadline = time.monotonic() + NAMESPACE_GONE_WAIT_S
        while time.monotonic() < deadline:
            if self._read("v1", "Namespace", spec.namespace, None) is None:
                return [f"deleted namespace {spec.namespace}"]
            time.sleep(0.5)
        raise TemporaryError(f"namespace {spec.namespace} is still terminating", delay=5)
