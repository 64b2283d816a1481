"""Every tenant-owned query goes through one scoping helper (``taas.kit.scope.Scope.apply``,
or the older ``taas.kit.db.scoped``): no hand-written filters. Migrations change the
schema and every tenant's rows at once: they are no tenant's reads."""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "platform" / "src" / "taas"
HAND_WRITTEN = re.compile(r"\.tenant_id\s*==|tenant_id\s*=\s*%s|WHERE\s+tenant_id", re.IGNORECASE)
ALLOWED = {SOURCE / "kit" / "db.py"}
MIGRATIONS = SOURCE / "migrations"


def test_no_hand_written_tenant_filters() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in SOURCE.rglob("*.py")
        if path not in ALLOWED and MIGRATIONS not in path.parents
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HAND_WRITTEN.search(line)
    ]
    assert offenders == [], "use taas.kit.scope.Scope.apply() instead:\n" + "\n".join(offenders)


def test_the_check_would_catch_one() -> None:
    assert HAND_WRITTEN.search("query.where(Operation.tenant_id == tenant_id)")
