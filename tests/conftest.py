"""Shared fixtures: the real local stack, checked once per session.

A test that needs a server asks for ``stack``; when a server is down the test fails with
the component's name, its health detail and the command that fixes it. Nothing skips.
"""

from __future__ import annotations

import pytest

from taas.kit.settings import StackSettings
from taas.localstack.context import StackContext
from taas.localstack.stack import LocalStack


@pytest.fixture(scope="session")
def stack() -> LocalStack:
    """The running local stack; fails loudly, naming what is missing, if it is not healthy."""
    local = LocalStack(StackContext(StackSettings()))
    broken = [row for row in local.status() if not row.health.ok]
    if broken:
        lines = "\n".join(f"  {row.name}: {row.health.detail} (log: {row.log})" for row in broken)
        pytest.fail(
            f"the local stack is not healthy:\n{lines}\nstart it with `taas stack up`",
            pytrace=False,
        )
    return local
