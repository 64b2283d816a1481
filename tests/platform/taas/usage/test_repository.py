"""Usage queries on the real database: a scope reads only its tenants' rows, a vendor's
report only its modules, and refusals are counted apart from billable calls."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from support import unique_slug
from taas.kit.scope import Scope
from taas.plugins.models import PluginVersion, Vendor
from taas.usage.models import UsageDaily
from taas.usage.repository import UsageRepository

pytestmark = pytest.mark.integration
DAY = dt.date(2001, 2, 3)  # far from the days other tests meter
A, B = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def session(control_plane: Any) -> Iterator[Session]:
    """A session whose writes are rolled back at the end."""
    from taas.kit.db import new_session

    with new_session() as session:
        yield session
        session.rollback()


def _meter(session: Session, tenant: uuid.UUID, module: str, calls: int, refusal: str = "") -> None:
    session.add(
        UsageDaily(
            day=DAY,
            tenant_id=tenant,
            module=module,
            version="1.0.0",
            status_class="2xx" if not refusal else "4xx",
            refusal=refusal,
            calls=calls,
            bytes_in=10 * calls,
            bytes_out=20 * calls,
            latency_ms_sum=1.5 * calls,
            latency_ms_max=3.0,
        )
    )


def _vendor_module(session: Session) -> tuple[uuid.UUID, str]:
    slug, name = unique_slug("v"), unique_slug("m")
    vendor = Vendor(
        slug=slug,
        display_name=slug,
        contact_email="dev@example.com",
        client_id=slug,
        signing_secret="s",
        status="active",
    )
    session.add(vendor)
    session.flush()
    session.add(
        PluginVersion(
            vendor_id=vendor.id,
            name=name,
            version="1.0.0",
            capability="risk",
            status="published",
            manifest={},
            submitted_by="t",
            submitted_by_subject="t",
        )
    )
    session.flush()
    return vendor.id, name


def test_a_tenant_scope_reads_only_its_tenant(session: Session) -> None:
    module = unique_slug("m")
    _meter(session, A, module, 5)
    _meter(session, A, module, 2, refusal="rate-limited")
    _meter(session, B, module, 7)
    session.flush()
    usage = UsageRepository(session)

    (row,) = usage.daily(Scope.tenant("a", A), DAY, DAY)
    assert row[:4] == (DAY, module, "1.0.0", 5)
    assert usage.refusals(Scope.tenant("a", A), DAY, DAY) == {
        (DAY, module, "1.0.0"): {"rate-limited": 2}
    }
    (row,) = usage.daily(Scope.tenant("b", B), DAY, DAY)
    assert row[3] == 7
    assert usage.refusals(Scope.tenant("b", B), DAY, DAY) == {}
    # a bank's scope narrowed to another tenant, and an unknown tenant, read nothing
    assert usage.daily(Scope.tenant("a", A).narrow(B), DAY, DAY) == []
    assert usage.daily(Scope.tenant("nobody", None), DAY, DAY) == []


def test_a_vendor_report_counts_every_tenant_of_its_modules_only(session: Session) -> None:
    vendor_id, mine = _vendor_module(session)
    _meter(session, A, mine, 5)
    _meter(session, B, mine, 7)
    _meter(session, A, unique_slug("m"), 11)  # another vendor's module
    session.flush()

    rows = UsageRepository(session).daily(Scope.platform("v"), DAY, DAY, vendor_id=vendor_id)
    assert [(row[1], row[3], row[9]) for row in rows] == [(mine, 12, 2)]
