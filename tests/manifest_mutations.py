"""Hypothesis strategies that mutate a plugin manifest the way a careless (or hostile)
vendor might: keys dropped, wrong types, garbage nested in the OpenAPI document and its
examples, huge values."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
HUGE = st.sampled_from(
    [
        "x" * 200_000,
        10**400,
        -(2**70),
        1e308,
        ["a"] * 20_000,
        {f"k{i}": i for i in range(5_000)},
        "\x00" * 1000,
        "/{" + "p" * 5000 + "}",
    ]
).map(copy.deepcopy)  # later mutations must not change the shared samples


def _paths(value: Any, prefix: Path = ()) -> list[Path]:
    found: list[Path] = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _parent(document: Any, path: Path) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


@st.composite
def mutated_manifests(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with one to four mutations."""
    document: dict[str, Any] = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        # Bias towards the OpenAPI document and its examples, where the validator digs.
        deep = [p for p in paths if p[0] == "openapi"]
        use_deep = bool(deep) and draw(st.booleans())
        path = draw(st.sampled_from(deep if use_deep else paths))
        parent = _parent(document, path)
        kind = draw(st.sampled_from(["drop", "junk", "huge", "add"]))
        if kind == "drop":
            del parent[path[-1]]
        elif kind == "junk":
            parent[path[-1]] = draw(JUNK)
        elif kind == "huge":
            parent[path[-1]] = draw(HUGE)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(JUNK | HUGE)
    return document
