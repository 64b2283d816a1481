"""Every ``taas ...`` command that a message, a hint or a doc names exists.

Error messages end with the next step to take, usually a command; a hint naming a
command that does not exist (``taas login`` once did) leaves the reader stuck.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from taas.cli.main import app

ROOT = Path(__file__).resolve().parents[4]
SOURCES = ROOT / "platform" / "src" / "taas"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# "taas" followed by lowercase words: the command path and, after it, its arguments.
NAMED = re.compile(r"(?<![\w./@-])taas((?: [a-z][a-z0-9-]*)+)")


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal in a module (f-strings with their fields left out)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            parts = [part.value if isinstance(part, ast.Constant) else "{}" for part in node.values]
            yield node.lineno, "".join(str(part) for part in parts)


def unknown_command(words: list[str]) -> str | None:
    """Why ``taas <words>`` names no command (None if it does): the words are followed
    down the command groups until a command, after which come its arguments."""
    command: Any = typer.main.get_command(app)
    for position, word in enumerate(words):
        if not hasattr(command, "commands"):  # a command, not a group: arguments follow
            return None
        sub = command.commands.get(word)
        if sub is None:
            parent = " ".join(["taas", *words[:position]])
            choices = ", ".join(sorted(command.commands))
            return f"{word!r} is not a command of `{parent}` (it has: {choices})"
        command = sub
    return None


def _named_in_code() -> Iterator[tuple[str, list[str]]]:
    for path in sorted(SOURCES.rglob("*.py")):
        for line, text in _strings(path):
            for match in NAMED.finditer(text):
                yield f"{path.relative_to(ROOT)}:{line}", match.group(1).split()


def _code_in(text: str) -> Iterator[tuple[int, str]]:
    """The code of a Markdown file: fenced blocks without their comments, inline spans."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            yield number, line.split(" #", 1)[0]
        else:
            for span in re.findall(r"`([^`]+)`", line):
                yield number, span


def _named_in_docs() -> Iterator[tuple[str, list[str]]]:
    for path in DOCS:
        for line, code in _code_in(path.read_text()):
            for match in NAMED.finditer(code):
                yield f"{path.relative_to(ROOT)}:{line}", match.group(1).split()


def test_the_checker_knows_a_missing_command_from_a_real_one() -> None:
    assert unknown_command(["tenants", "ops", "rural-bank-7"]) is None
    assert unknown_command(["login"]) is None
    assert unknown_command(["stack"]) is None
    assert unknown_command(["tenants", "explode"]) is not None
    assert unknown_command(["logon"]) is not None


def test_every_command_named_in_a_message_or_hint_exists() -> None:
    named = list(_named_in_code())
    assert len(named) > 20, "the pattern finds the commands the code names"
    missing = [f"{where}: {why}" for where, words in named if (why := unknown_command(words))]
    assert not missing, "\n".join(missing)


def test_every_command_named_in_the_docs_exists() -> None:
    named = list(_named_in_docs())
    assert len(named) > 50
    missing = [f"{where}: {why}" for where, words in named if (why := unknown_command(words))]
    assert not missing, "\n".join(missing)
