"""What a tenant's namespace should hold: the namespace with Pod Security labels, a quota,
container defaults, network isolation, and a workload service account with its role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from taas.integrations.spec import TenantSpec


class TenantManifests:
    """The desired objects of a tenant's namespace (pure: no API calls)."""

    gateway_namespace: str  # the only namespace whose pods may call into a tenant's
    dns_peers: Sequence[Mapping[str, Any]]  # where the cluster DNS is (policy peers)

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
                        "to": [dict(peer) for peer in self.dns_peers],
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
