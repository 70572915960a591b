"""``@Salesbot …`` in a deal's thread: the slash grammar minus the deal (issue 14, point 5).

``won``, ``lost budget cut``, ``move Proposal``, ``note Called the CFO``, ``set amount:8m``,
``show``, ``snooze +7d``, ``task 내일 10시 CFO 콜``, ``remind @lee in 3 days to send the
quote``. The thread names the deal, so the text is the sub-command and what follows it; the
result is the typed command ``/deal`` or ``/task`` would have made. Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from commands import types as c
from commands.grammar import SUBCOMMANDS, parse
from commands.lexer import plain, shown, tokens
from commands.values import is_user, within_limit
from commands.when import leading_due
from domain.errors import InvalidInput

_LEADING_MENTIONS = re.compile(r"^(\s*<@[A-Z0-9]+(\|[^>]*)?>)+\s*")
DEAL_VERBS = ("won", "lost", "move", "note", "set", "show", "snooze", "renewal")
TASK_WORDS = frozenset({"task", "todo", "할일", "할 일", "태스크"})
REMIND_WORDS = frozenset({"remind", "reminder", "리마인드", "알림"})
FILLERS = frozenset({"to", "that", "에게", "한테"})


def mention_command(text: str, *, deal_number: int, today: date) -> c.Command:
    """What a mention in deal ``deal_number``'s thread asks for, as a typed command."""
    body = _LEADING_MENTIONS.sub("", text or "", count=1).strip()
    verb, _, rest = body.partition(" ")
    word = plain(verb).lower()
    ref = f"D{deal_number}"
    sub = SUBCOMMANDS["deal"].get(word)
    if sub in DEAL_VERBS:
        return parse("deal", f"{verb} {ref} {rest}".strip(), today=today)
    if word in TASK_WORDS:
        cmd = parse("task", f"new {rest}", today=today)
        if isinstance(cmd, c.TaskNew) and cmd.deal is None and cmd.lead is None:
            cmd = replace(cmd, deal=c.DealRef(number=deal_number))
        return cmd
    if word in REMIND_WORDS:
        return _remind(rest, deal_number, today)
    raise InvalidInput("task.mention.unknown", value=shown(plain(body) or "…"))


def _remind(rest: str, deal_number: int, today: date) -> c.TaskNew:
    """``@lee in 3 days to send the quote``: who, when, what."""
    words = [t.text for t in tokens(rest)]
    owner = None
    if words and is_user(words[0]):
        owner = parse("task", f"new x owner:{words[0]}", today=today).owner
        words = words[1:]
    due, words = leading_due(words, today=today)
    while words and words[0].lower() in FILLERS:
        words = words[1:]
    text = within_limit(" ".join(plain(w) for w in words).strip(), "task")
    if not text:
        raise InvalidInput("grammar.missing_task_text")
    return c.TaskNew(text=text, due=due, deal=c.DealRef(number=deal_number), owner=owner)
