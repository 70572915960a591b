"""Help is made once per locale, command and topic (commands.handlers.help): every reply is
the same as a freshly made one, and one reply's block list is its own."""

from __future__ import annotations

from types import SimpleNamespace

from commands import types as c
from commands.handlers import help as help_handler


def _fresh(cmd: c.Help, locale: str):
    help_handler._help.cache_clear()
    return help_handler.show_help(cmd, SimpleNamespace(locale=locale)).reply


def test_a_kept_help_is_the_help_made_afresh_and_its_list_is_the_replys_own():
    for locale in ("en", "ko", "ko-KR"):
        for command in help_handler.TOPICS:
            for topic in (None, "move", "MOVE", "nothing"):
                cmd = c.Help(command, topic)
                fresh = _fresh(cmd, locale)
                ctx = SimpleNamespace(locale=locale)
                kept = help_handler.show_help(cmd, ctx).reply
                assert (kept.text, kept.blocks) == (fresh.text, fresh.blocks)
                kept.blocks.append({"type": "divider"})  # a handler adding to its reply
                again = help_handler.show_help(cmd, ctx).reply
                assert again.blocks == fresh.blocks and again.blocks is not kept.blocks
