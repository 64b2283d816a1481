"""Module workloads on Kubernetes: what a subscription deploys.

``silo`` and ``dedicated`` tenants get the module's own Deployment and Service in their
namespace. ``pool`` tenants share one Deployment per module version in the modules
namespace; each subscription adds a NetworkPolicy there that opens the path from the
gateway and from the tenant's namespace. The shared Deployment goes when the last pool
subscription to that version does.
"""

from __future__ import annotations

from typing import Any

from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.kit.telemetry import traced

PLACEHOLDER_IMAGE = "taas.invalid/plugins/{name}:{version}"
MODULE_LABEL = "taas.io/module"
SHARED_LABEL = "taas.io/module-workload"
TENANT_LABEL = "taas.io/tenant"


def _labels(module: ModuleSpec, workload: str) -> dict[str, str]:
    return {MODULE_LABEL: module.name, SHARED_LABEL: workload, "taas.io/version": _v(module)}


def _v(module: ModuleSpec) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in module.version)[:63]


class ModuleWorkloads:
    """Deploys and removes module workloads for subscriptions."""

    def __init__(self, kubernetes: KubernetesTenants) -> None:
        self.kube = kubernetes

    @property
    def shared_namespace(self) -> str:
        return self.kube.modules_namespace

    def service_url(self, spec: TenantSpec, module: ModuleSpec) -> str:
        """The in-cluster address of the module for this tenant."""
        if spec.isolated:
            host = f"{module.workload}.{spec.namespace}"
        else:
            host = f"{module.shared_workload}.{self.shared_namespace}"
        return f"http://{host}.svc.cluster.local:{module.port}"

    def deployment(self, module: ModuleSpec, name: str) -> dict[str, Any]:
        """A Deployment that passes the ``restricted`` pod security standard."""
        labels = _labels(module, name)
        image = module.image or PLACEHOLDER_IMAGE.format(name=module.name, version=_v(module))
        container: dict[str, Any] = {
            "name": "module",
            "image": image,
            "ports": [{"containerPort": module.port, "name": "http"}],
            "resources": {
                "requests": {"cpu": module.cpu, "memory": module.memory},
                "limits": {"cpu": module.cpu, "memory": module.memory},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
        annotations = {"taas.io/upstream": module.upstream_url} if module.upstream_url else {}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {
                "replicas": module.replicas,
                "selector": {"matchLabels": {SHARED_LABEL: name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"automountServiceAccountToken": False, "containers": [container]},
                },
            },
        }

    def service(self, module: ModuleSpec, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": _labels(module, name)},
            "spec": {
                "selector": {SHARED_LABEL: name},
                "ports": [{"name": "http", "port": module.port, "targetPort": "http"}],
            },
        }

    def path_policy(self, spec: TenantSpec, module: ModuleSpec) -> dict[str, Any]:
        """Pool: let the gateway and this tenant's namespace reach the shared module."""
        name = f"{module.name}-{spec.slug}"[:63]
        labels = {**_labels(module, module.shared_workload), TENANT_LABEL: spec.slug}

        def from_namespace(namespace: str) -> dict[str, Any]:
            return {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            }

        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "podSelector": {"matchLabels": {SHARED_LABEL: module.shared_workload}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            from_namespace(self.kube.gateway_namespace),
                            from_namespace(spec.namespace),
                        ],
                        "ports": [{"protocol": "TCP", "port": module.port}],
                    }
                ],
            },
        }

    def _ensure_shared_namespace(self) -> list[str]:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": self.shared_namespace,
                "labels": {
                    "taas.io/role": "modules",
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
        }
        change = self.kube.apply(body, None, field="metadata")
        return [change] if change else []

    @traced("kubernetes.ensure_module")
    def ensure(self, spec: TenantSpec, module: ModuleSpec) -> list[str]:
        """Deploy (or update) the module for the tenant; return what changed."""
        if spec.isolated:
            bodies = [
                self.deployment(module, module.workload),
                self.service(module, module.workload),
            ]
            namespace = spec.namespace
            changes = []
        else:
            name = module.shared_workload
            bodies = [
                self.deployment(module, name),
                self.service(module, name),
                self.path_policy(spec, module),
            ]
            namespace = self.shared_namespace
            changes = self._ensure_shared_namespace()
        for body in bodies:
            change = self.kube.apply(body, namespace)
            if change:
                changes.append(change)
        return changes

    @traced("kubernetes.remove_module")
    def remove(self, spec: TenantSpec, module: ModuleSpec) -> list[str]:
        """Remove the tenant's deployment of the module (pool: its path, and the shared
        workload when no other tenant uses that version)."""
        changes: list[str | None] = []
        if spec.isolated:
            for kind, api in (("Service", "v1"), ("Deployment", "apps/v1")):
                changes.append(self.kube.delete(api, kind, module.workload, spec.namespace))
        else:
            policy = self.path_policy(spec, module)["metadata"]["name"]
            ns = self.shared_namespace
            changes.append(self.kube.delete("networking.k8s.io/v1", "NetworkPolicy", policy, ns))
            changes += self.prune_shared(module)
        return [change for change in changes if change]

    def prune_shared(self, module: ModuleSpec) -> list[str | None]:
        """Delete a version's shared workload once no pool subscription opens a path to it."""
        name = module.shared_workload
        ns = self.shared_namespace
        users = self.kube.list_names(
            "networking.k8s.io/v1", "NetworkPolicy", ns, f"{SHARED_LABEL}={name}"
        )
        if users:
            return []
        return [
            self.kube.delete("v1", "Service", name, ns),
            self.kube.delete("apps/v1", "Deployment", name, ns),
        ]

    def exists(self, spec: TenantSpec, module: ModuleSpec) -> bool:
        if spec.isolated:
            return self.kube.object_exists(spec, "apps/v1", "Deployment", module.workload)
        policy = self.path_policy(spec, module)["metadata"]["name"]
        names = self.kube.list_names(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            self.shared_namespace,
            f"{TENANT_LABEL}={spec.slug}",
        )
        return policy in names

    @traced("kubernetes.remove_tenant_module_paths")
    def remove_tenant_paths(self, spec: TenantSpec) -> list[str]:
        """Offboarding: close every path the tenant had to shared modules, and remove the
        shared workloads no other tenant has a path to. The workloads go first: should the
        worker die in between, the paths still there say which workloads to look at when
        the step runs again."""
        ns = self.shared_namespace
        policy = ("networking.k8s.io/v1", "NetworkPolicy")
        paths = self.kube.list_labels(*policy, ns, f"{TENANT_LABEL}={spec.slug}")
        changes: list[str | None] = []
        workloads = {labels[SHARED_LABEL] for labels in paths.values() if SHARED_LABEL in labels}
        for workload in sorted(workloads):
            others = set(self.kube.list_names(*policy, ns, f"{SHARED_LABEL}={workload}"))
            if not others - set(paths):
                changes += [
                    self.kube.delete("v1", "Service", workload, ns),
                    self.kube.delete("apps/v1", "Deployment", workload, ns),
                ]
        changes += [self.kube.delete(*policy, name, ns) for name in paths]
        return [change for change in changes if change]
