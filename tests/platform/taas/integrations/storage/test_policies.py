"""How the storage adapter decides whether a policy drifted, and what a tenant's policies
reach (pure logic, no server)."""

from __future__ import annotations

import uuid

from taas.integrations.spec import TenantSpec
from taas.integrations.storage.policies import bucket_policy, normalized, user_policy


def _spec(slug: str = "bank-a") -> TenantSpec:
    return TenantSpec(id=uuid.uuid4(), slug=slug, tier="pool", region="r")


def test_policies_compare_regardless_of_order_and_string_or_list() -> None:
    policy = user_policy(_spec())
    reordered = {
        "Version": "2012-10-17",
        "Statement": [
            {**statement, "Action": list(reversed(statement["Action"]))}
            for statement in reversed(policy["Statement"])
        ],
    }
    assert normalized(reordered) == normalized(policy)
    single = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "x"}]}
    listed = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["x"]}]}
    assert normalized(single) == normalized(listed)


def test_a_tenant_policy_names_only_its_own_bucket() -> None:
    text = str(user_policy(_spec("bank-a"))) + str(bucket_policy(_spec("bank-a")))
    assert "tenant-bank-a" in text
    assert "arn:aws:s3:::*" not in text
    assert normalized(user_policy(_spec("bank-a"))) != normalized(user_policy(_spec("bank-b")))
