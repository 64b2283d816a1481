"""Turn TaaS errors into a clear message and a non-zero exit code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from taas.kit.errors import TaasError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print what went wrong and what to do next instead of a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TaasError as exc:
            err_console.print(f"[red]error:[/] {escape(exc.message)}")
            if exc.hint:
                err_console.print(f"[yellow]next:[/] {escape(exc.hint)}")
            raise typer.Exit(code=1) from exc
        except ValidationError as exc:
            for problem in exc.errors():
                field = ".".join(str(part) for part in problem["loc"])
                err_console.print(f"[red]error:[/] setting TAAS_{field.upper()}: {problem['msg']}")
            raise typer.Exit(code=2) from exc

    return wrapper
