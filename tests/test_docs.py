"""docs/commands.md stays true: every example command in it parses (in both languages' forms),
and every slash command the grammar knows is documented there."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from commands.grammar import COMMANDS, parse

DOCS = Path(__file__).parent.parent / "docs"
EXAMPLE = re.compile(r"`(/(?:" + "|".join(COMMANDS) + r")\b[^`]*)`")


def examples() -> list[str]:
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    return sorted(set(EXAMPLE.findall(text)))


@pytest.mark.parametrize("example", examples())
def test_every_example_in_the_command_docs_parses(example):
    command, _, text = example.lstrip("/").partition(" ")
    parse(command, text, today=date(2026, 12, 3))  # raises InvalidInput when it would not


def test_every_slash_command_has_a_section_with_examples():
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"## /{command}" in text or f", /{command}" in text, command
        assert sum(1 for e in examples() if e.startswith(f"/{command}")) >= 2, command


def test_the_docs_the_code_points_to_exist():
    root = Path(__file__).parent.parent
    cited = set()
    for path in [*root.glob("*/*.py"), *root.glob("*/*/*.py"), *root.glob("i18n/locales/*/*")]:
        if ".venv" in path.parts:
            continue
        cited.update(re.findall(r"docs/([a-z-]+\.md)", path.read_text(encoding="utf-8")))
    assert cited and all((DOCS / name).exists() for name in cited), cited
