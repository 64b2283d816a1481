"""Fixtures of the gateway tests: the upstream module and route rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway_support import RouteMaker, Upstream


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def routes(upstream: Upstream, make_tenant: Callable[..., dict[str, Any]]) -> Iterator[RouteMaker]:
    """Make routes by inserting rows; deleted when the test ends, before its tenants are
    offboarded (hence the dependency on ``make_tenant``)."""
    maker = RouteMaker(upstream)
    yield maker
    maker.remove_all()
