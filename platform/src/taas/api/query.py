"""Query parameters are single-valued unless the operation declares a list.

Starlette keeps every value of a repeated parameter and FastAPI reads the last one, so
``?after=a&after=b`` would be answered as if only ``b`` had been sent. A repeated scalar
parameter is an invalid request (422), refused like any other schema mismatch (after the
caller's credentials are checked).
"""

from __future__ import annotations

import types
from collections import Counter
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

SEQUENCES = (list, tuple, set, frozenset)


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in SEQUENCES or annotation in SEQUENCES:
        return True
    if origin in (Union, types.UnionType):
        return any(_is_sequence(arg) for arg in get_args(annotation) if arg is not type(None))
    return False


def single_valued_query(request: Request) -> None:
    """A dependency of every operation: refuse a scalar query parameter sent twice."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    lists = {
        param.alias
        for param in route.dependant.query_params
        if _is_sequence(param.field_info.annotation)
    }
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, count in counts.items() if count > 1 and name not in lists)
    if repeated:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "given more than once", "type": "value_error"}
                for name in repeated
            ]
        )
