"""Every read of the subscriptions repository on the real database: a scope of tenant A
never returns a row of tenant B, and a platform scope sees both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from scoping_support import published_module, subscribe
from support import unique_slug
from taas.kit.scope import Scope
from taas.subscriptions.models import Subscription
from taas.subscriptions.repository import SubscriptionRepository
from taas.tenants.models import Tenant

pytestmark = pytest.mark.integration


@pytest.fixture
def session(control_plane: Any) -> Iterator[Session]:
    """A session whose writes are rolled back at the end."""
    from taas.kit.db import new_session

    with new_session() as session:
        yield session
        session.rollback()


def _tenant(session: Session) -> Tenant:
    slug = unique_slug("t")
    tenant = Tenant(
        slug=slug, display_name=slug, tier="pool", region="test", quotas={}, status="active"
    )
    session.add(tenant)
    return tenant


def test_a_tenant_scope_never_reads_another_tenants_subscription(session: Session) -> None:
    a, b = _tenant(session), _tenant(session)
    session.flush()
    version = published_module(session, unique_slug("v"))
    mine, theirs = subscribe(session, a, version), subscribe(session, b, version)
    repo = SubscriptionRepository(session)
    only_a, everyone = Scope.tenant("a", a.id), Scope.platform("operator")
    a_looking_at_b = Scope.tenant("a", a.id).narrow(b.id)

    assert repo.get(only_a, mine.id) is mine
    assert repo.get(only_a, theirs.id) is None
    assert repo.get(a_looking_at_b, theirs.id) is None
    assert repo.live(only_a, version.name) is mine
    assert repo.live(a_looking_at_b, version.name) is None
    assert repo.all_live(only_a) == [mine]
    assert repo.all_live(a_looking_at_b) == []
    assert repo.routed(only_a, version.name) is mine
    assert repo.is_routed(only_a, mine.id)
    assert not repo.is_routed(only_a, theirs.id)
    assert [row for row, _ in repo.on_version(only_a, version.id)] == [mine]
    assert [row for row, _ in repo.behind_channel(only_a, version.name, uuid.uuid4())] == [mine]
    assert repo.served(only_a, [version.id]) == [(version.name, "1.0.0", 1)]

    assert {row.id for row, _ in repo.on_version(everyone, version.id, every=True)} == {
        mine.id,
        theirs.id,
    }
    assert repo.served(everyone, [version.id]) == [(version.name, "1.0.0", 2)]


def test_a_second_live_subscription_of_a_tenant_to_a_module_is_refused(session: Session) -> None:
    tenant = _tenant(session)
    session.flush()
    version = published_module(session, unique_slug("v"))
    subscribe(session, tenant, version)
    again = Subscription(
        tenant_id=tenant.id,
        module=version.name,
        plugin_version_id=version.id,
        upstream_url="http://127.0.0.1:1",
        status="provisioning",
        rate_limit_rps=10,
        requested_by="t",
    )
    assert not SubscriptionRepository(session).add(again)
