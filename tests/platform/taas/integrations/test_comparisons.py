"""Pure logic the adapters use to decide whether something drifted."""

from __future__ import annotations

import uuid

from taas.integrations.kubernetes import _subset
from taas.integrations.spec import TenantSpec
from taas.integrations.storage import bucket_policy, normalized, user_policy


def test_subset_ignores_fields_the_api_server_adds() -> None:
    wanted = {"hard": {"pods": "50", "requests.cpu": "2"}}
    actual = {"hard": {"pods": "50", "requests.cpu": "2", "extra": "1"}, "scopes": None}
    assert _subset(wanted, actual)


def test_subset_sees_a_changed_or_missing_value() -> None:
    assert not _subset({"hard": {"pods": "50"}}, {"hard": {"pods": "40"}})
    assert not _subset({"hard": {"pods": "50"}}, {"hard": {}})
    assert not _subset({"rules": [{"verbs": ["get"]}]}, {"rules": []})


def test_subset_compares_numbers_and_strings_as_the_api_server_returns_them() -> None:
    assert _subset({"port": 53}, {"port": 53})
    assert _subset({"replicas": "2"}, {"replicas": 2})


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
