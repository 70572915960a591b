"""Where each rule lives (STYLE.md): views render and never query; views and commands do not
reach into the scheduler (the rows and reads they share are the domain's)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
QUERIES = {"get", "exec", "execute", "scalar", "scalars", "query", "connection"}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["views", "commands"])
def test_views_and_commands_do_not_import_the_scheduler(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in imported(path) if n.startswith("scheduler"))
        for path in modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_views_never_query_the_database():
    """No ``session.get(...)``, ``ctx.session.exec(...)``… in a view: the domain reads."""
    calls = []
    for path in modules("views"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name == "session" and node.func.attr in QUERIES:
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == []
