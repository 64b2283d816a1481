"""Tenant filters are written in one place: ``taas.kit.scope`` (and the gateway's raw-SQL
``scoped_sql``, and ``kit.db.scoped`` while the catalog still uses it).

The check parses every module instead of matching lines, so no form of a filter slips by:
a comparison with a ``tenant_id`` column however it is reached (``Model.tenant_id``,
``table.c.tenant_id``, ``c["tenant_id"]``, ``getattr(Model, "tenant_id")``,
``column("tenant_id")``), any operator method called on one (``in_``, ``is_``, ``op``...),
``filter_by(tenant_id=...)``, and raw SQL that filters on ``tenant_id``. A comparison
inside a join condition relates two rows and filters nothing, so it passes; so do
``in``/``not in``/``is``/``is not``, which SQLAlchemy cannot overload (they are Python).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "platform" / "src" / "taas"
ALLOWED = {SOURCE / "kit" / "scope.py", SOURCE / "kit" / "db.py"}
# Migrations change whole tables on behalf of nobody: they read no caller's rows.
MIGRATIONS = SOURCE / "migrations"
COLUMN = "tenant_id"
COLUMN_FUNCTIONS = {"column", "literal_column", "getattr"}
JOINS = {"join", "outerjoin", "join_from", "outerjoin_from"}
JOIN_KEYWORDS = {"onclause", "primaryjoin", "secondaryjoin"}
SQL_OPERATORS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
RAW_FILTER = re.compile(r"\btenant_id\s*(=|<>|!=|\bin\b|\bis\b|\blike\b)", re.IGNORECASE)


def _is_column(node: ast.AST) -> bool:
    """Whether ``node`` reaches a ``tenant_id`` column."""
    if isinstance(node, ast.Attribute):
        return node.attr == COLUMN
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == COLUMN
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in COLUMN_FUNCTIONS and any(
            isinstance(arg, ast.Constant) and arg.value == COLUMN for arg in node.args
        )
    return False


def _join_conditions(tree: ast.AST) -> set[int]:
    """The ids of comparisons that are join conditions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        candidates = list(node.args) if name in JOINS else []
        candidates += [kw.value for kw in node.keywords if kw.arg in JOIN_KEYWORDS]
        for candidate in candidates:
            found.update(id(sub) for sub in ast.walk(candidate) if isinstance(sub, ast.Compare))
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, owners)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def hand_written_filters(code: str) -> Iterator[tuple[int, str]]:
    """(line, what) for every tenant filter written in ``code``."""
    tree = ast.parse(code)
    joins, docstrings = _join_conditions(tree), _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and id(node) not in joins:
            sql = any(isinstance(operator, SQL_OPERATORS) for operator in node.ops)
            if sql and any(_is_column(side) for side in [node.left, *node.comparators]):
                yield node.lineno, "a comparison with a tenant_id column"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and _is_column(func.value):
                yield node.lineno, f"tenant_id.{func.attr}(...)"
            if any(kw.arg == COLUMN for kw in node.keywords) and (
                isinstance(func, ast.Attribute) and func.attr == "filter_by"
            ):
                yield node.lineno, "filter_by(tenant_id=...)"
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and RAW_FILTER.search(node.value)
        ):
            yield node.lineno, "raw SQL filtering on tenant_id"


def test_no_tenant_filter_is_written_outside_the_scope() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{line}: {what}"
        for path in sorted(SOURCE.rglob("*.py"))
        if path not in ALLOWED and MIGRATIONS not in path.parents
        for line, what in hand_written_filters(path.read_text())
    ]
    assert offenders == [], (
        "limit reads with a taas.kit.scope.Scope (scope.apply / scope.where) in a "
        "repository instead:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    "code",
    [
        "q.where(Operation.tenant_id == tenant_id)",
        "q.where(tenant_id == Operation.tenant_id)",
        "q.where(Operation.tenant_id != other)",
        "q.where(Operation.tenant_id.in_(ids))",
        "q.where(Operation.tenant_id.is_(None))",
        "q.where(Operation.tenant_id.op('=')(x))",
        "q.where(table.c.tenant_id == x)",
        "q.where(table.c['tenant_id'] == x)",
        "q.where(getattr(Model, 'tenant_id') == x)",
        "q.where(column('tenant_id') == x)",
        "q.where(and_(Model.slug == s, Model.tenant_id == x))",
        "session.query(Model).filter_by(tenant_id=x)",
        "text('SELECT * FROM subscriptions WHERE tenant_id = :t')",
        "text('SELECT 1 FROM t WHERE tenant_id IN (:a, :b)')",
        "f'SELECT 1 FROM t WHERE tenant_id = {x}'",
        "sql = 'DELETE FROM t WHERE tenant_id=%s'",
        "q.where(Model.tenant_id >= x)",
    ],
)
def test_the_check_finds_every_form(code: str) -> None:
    assert list(hand_written_filters(code)), code


@pytest.mark.parametrize(
    "code",
    [
        "q.where(scope.where(Operation.tenant_id))",
        "scope.apply(select(Operation), Operation)",
        "select(S, T).join(T, T.id == S.tenant_id)",
        "select(S).outerjoin(T, onclause=T.id == S.tenant_id)",
        "Operation(tenant_id=tenant.id)",
        "def f():\n    '''Rows whose tenant_id = the caller's.'''",
        "sql = 'SELECT tenant_id, count(*) FROM usage GROUP BY tenant_id'",
        "if operation.tenant_id is not None: pass",
        "gone = [r for r in routes if r.tenant_id in changed]",
    ],
)
def test_the_check_lets_pass_what_filters_nothing(code: str) -> None:
    assert not list(hand_written_filters(code)), code
