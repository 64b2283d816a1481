"""Tenant namespaces on Kubernetes: quota, limits, Pod Security, network isolation, RBAC.

``objects`` holds the generic object operations (read, create-or-adopt, replace on
drift, delete) and the error translation; ``manifests`` what a tenant's namespace should
hold; ``tenants`` (``KubernetesTenants``) the tenant lifecycle built from both.
"""

from __future__ import annotations

from taas.integrations.kubernetes.objects import KubernetesObjects, subset
from taas.integrations.kubernetes.tenants import (
    NAMESPACE_GONE_WAIT_S,
    SUSPENDED_REPLICAS,
    KubernetesTenants,
)

__all__ = [
    "NAMESPACE_GONE_WAIT_S",
    "SUSPENDED_REPLICAS",
    "KubernetesObjects",
    "KubernetesTenants",
    "subset",
]
