"""What a tenant's namespace should hold (pure: no server)."""

from __future__ import annotations

import uuid
from pathlib import Path

from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.spec import Quotas, TenantSpec


def _spec() -> TenantSpec:
    return TenantSpec(
        id=uuid.uuid4(),
        slug="bank-a",
        tier="pool",
        region="r",
        quotas=Quotas(cpu="3", memory="6Gi", storage_gb=7, requests_per_second=10),
    )


def test_only_the_gateway_namespace_may_call_into_a_tenant() -> None:
    kube = KubernetesTenants(Path("unused"), "taas-gw")
    ingress = kube.network_policy_manifest(_spec())["spec"]["ingress"]
    assert ingress == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "taas-gw"}}}
            ]
        }
    ]


def test_the_quota_and_labels_follow_the_spec() -> None:
    kube = KubernetesTenants(Path("unused"), "taas-gw")
    spec = _spec()
    hard = kube.quota_manifest(spec)["spec"]["hard"]
    assert (hard["limits.cpu"], hard["limits.memory"], hard["requests.storage"]) == (
        "3",
        "6Gi",
        "7Gi",
    )
    labels = kube.namespace_manifest(spec)["metadata"]["labels"]
    assert labels["taas.io/tenant"] == "bank-a"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    kinds = [kind for _, kind, _, _ in kube.desired_objects(spec)]
    assert kinds == [
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ServiceAccount",
        "Role",
        "RoleBinding",
    ]
