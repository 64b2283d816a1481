"""Validation of what the tenant API accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from taas.tenants.schemas import Quotas, TenantCreate


@pytest.mark.parametrize("slug", ["ab", "A-bank", "-bank", "bank-", "bank_1", "b" * 25])
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValidationError):
        TenantCreate(slug=slug, display_name="x", region="r")


@pytest.mark.parametrize("slug", ["abc", "rural-bank-7", "b" * 24])
def test_good_slugs_pass(slug: str) -> None:
    assert TenantCreate(slug=slug, display_name="x", region="r").slug == slug


@pytest.mark.parametrize("cpu", ["0", "0m", "-1", "2 cores", "1.5.2", ""])
def test_cpu_quota_must_be_a_positive_quantity(cpu: str) -> None:
    with pytest.raises(ValidationError, match="cpu"):
        Quotas(cpu=cpu)


@pytest.mark.parametrize("memory", ["0Gi", "4GB", "4", "lots"])
def test_memory_quota_must_be_a_positive_binary_size(memory: str) -> None:
    with pytest.raises(ValidationError, match="memory"):
        Quotas(memory=memory)


def test_defaults_are_usable() -> None:
    quotas = Quotas()
    assert (quotas.cpu, quotas.memory, quotas.storage_gb) == ("2", "4Gi", 10)
