"""The ``/task`` grammar (issue 14), on the shared pieces of :mod:`commands.grammar`.

``/task new "Call the CFO" deal:D42 due:tomorrow 10:00 owner:@lee kind:call`` (or
``lead:L7``); unquoted leading words that read as a due time are the due time
(``/task new 내일 10시 CFO 콜``). ``/task list [mine|@user|deal:D42] [overdue|today|week]``,
``/task done T3``, ``/task snooze T3 +2d``, ``/task show T3``, ``/task morning off``.
"""

from __future__ import annotations

import re
from datetime import date

from commands import grammar as g
from commands import types as c
from commands.lexer import Token, plain, shown
from commands.values import parse_deal_ref, parse_lead_ref, within_limit
from commands.when import leading_due, parse_due
from domain.due_times import Due
from domain.errors import InvalidInput
from storage.models import TaskKind

KINDS = {
    **dict.fromkeys(("call", "phone", "전화", "콜", "통화"), TaskKind.call.value),
    **dict.fromkeys(("email", "mail", "e-mail", "이메일", "메일"), TaskKind.email.value),
    **dict.fromkeys(("meeting", "meet", "미팅", "회의", "방문"), TaskKind.meeting.value),
    **dict.fromkeys(("todo", "task", "할일", "할 일"), TaskKind.todo.value),
}
WINDOWS = {
    **dict.fromkeys(("overdue", "late", "지연", "밀린", "기한초과"), "overdue"),
    **dict.fromkeys(("today", "오늘"), "today"),
    **dict.fromkeys(("week", "this-week", "이번주", "이번 주", "주간"), "week"),
}
ON_OFF = {
    **dict.fromkeys(("on", "yes", "켜기", "켬"), True),
    **dict.fromkeys(("off", "no", "끄기", "끔"), False),
}
_TASK = re.compile(r"[#]?[tT]?([0-9]{1,9})")
# Words that continue a due time written with spaces: "tomorrow 10:00", "내일 오후 3시 30분".
DUE_TAIL = re.compile(
    r"[0-9]{1,2}(:[0-9]{2})?(am|pm)?|am|pm|오전|오후|아침|저녁|밤|낮|새벽|[0-9]{1,2}시|[0-9]{1,2}분|반"
    r"|후|뒤|later|days?|hours?|weeks?|business|일|시간|주|영업일|from|now"
    r"|[0-9]{1,2}[.월일]?|말|말일|[월화수목금토일](요일)?|of|the|month|next"
    r"|(mon|tue|wed|thu|fri|sat|sun)[a-z]*",
    re.IGNORECASE,
)


def _due(value: str, today: date) -> Due:
    return parse_due(value, today=today)


_due.tail = DUE_TAIL  # type: ignore[attr-defined]  (commands.grammar._continues reads it)


def _deal(value: str, today: date) -> c.DealRef:
    ref = parse_deal_ref(value)
    if ref.text is not None:
        within_limit(ref.text, "deal")
    return ref


def _lead(value: str, today: date) -> c.LeadRef:
    ref = parse_lead_ref(value)
    if ref.text is not None:
        within_limit(ref.text, "lead")
    return ref


def _kind(value: str, today: date) -> str:
    kind = KINDS.get(plain(value).strip().lower())
    if kind is None:
        raise InvalidInput("grammar.bad_kind", value=shown(plain(value)))
    return kind


def kind_of(text: str) -> str:
    """A kind read from the words of a task: "CFO 콜" is a call, "send the deck" a todo."""
    for word in re.split(r"[\s,.!?()]+", text.lower()):
        kind = KINDS.get(word)
        if kind is not None and kind != TaskKind.todo.value:
            return kind
    return TaskKind.todo.value


def task_number(text: str) -> int:
    match = _TASK.fullmatch(plain(text).strip())
    if match is None:
        raise InvalidInput("grammar.bad_task", value=shown(plain(text)))
    return int(match[1])


NEW_KEYS: dict[str, g.Parser] = {
    "due": _due,
    "deal": _deal,
    "lead": _lead,
    "owner": g._owner,
    "kind": _kind,
    "text": g._limited("task"),
}


def task_new(text: str, pos: int, today: date) -> c.Command:
    toks = g._all_tokens(text, pos)
    if not toks:
        return c.TaskNew(text=None)
    words, values = g._read(toks, NEW_KEYS, today)
    if "deal" in values and "lead" in values:
        raise g._extra(next(t for t in toks if g.KEY_ALIASES.get(t.key, t.key) == "lead"))
    body = values.pop("text", None)
    if body and words:
        raise g._extra(words[0])
    if body is None:
        if "due" not in values and words and not words[0].quoted:
            due, rest = leading_due([w.text for w in words], today=today)
            if due is not None:
                values["due"], words = due, words[len(words) - len(rest) :]
        body = within_limit(g._joined(words), "task")
    if not body:
        raise InvalidInput("grammar.missing_task_text")
    return c.TaskNew(text=body, **values)


def task_list(text: str, pos: int, today: date) -> c.Command:
    spec: dict[str, g.Parser] = {"owner": g._owner, "deal": _deal}
    words, values = g._read(g._all_tokens(text, pos), spec, today, flags_anywhere=True)
    window = None
    others: list[Token] = []
    for word in words:
        found = None if word.quoted else WINDOWS.get(word.text.lower())
        if found is None:
            others.append(word)
        elif window is not None:
            raise g._extra(word)
        else:
            window = found
    mine, owner = g._user_filter(others, values)
    return c.TaskList(mine=mine, owner=owner, deal=values.get("deal"), window=window)


def _one_task(text: str, pos: int, today: date) -> tuple[int, list[Token]]:
    words, _ = g._read(g._all_tokens(text, pos), {}, today)
    if not words:
        raise InvalidInput("grammar.missing_task")
    return task_number(words[0].text), words[1:]


def task_done(text: str, pos: int, today: date) -> c.Command:
    number, rest = _one_task(text, pos, today)
    g._no_words(rest)
    return c.TaskDone(number)


def task_show(text: str, pos: int, today: date) -> c.Command:
    number, rest = _one_task(text, pos, today)
    g._no_words(rest)
    return c.TaskShow(number)


def task_snooze(text: str, pos: int, today: date) -> c.Command:
    """``T3 +2d``, ``T3 tomorrow 10:00``, ``T3 until:friday``, ``T3 내일 오후 3시까지``."""
    words, values = g._read(g._all_tokens(text, pos), {"until": _due, "due": _due}, today)
    if not words:
        raise InvalidInput("grammar.missing_task")
    number = task_number(words[0].text)
    due = values.get("until") or values.get("due")
    if due is not None:
        g._no_words(words[1:])
    elif len(words) > 1:
        written = " ".join(plain(w.text) for w in words[1:])
        due = parse_due(written.removesuffix("까지"), today=today)
    else:
        raise InvalidInput("grammar.missing_due")
    return c.TaskSnooze(number, due)


def task_morning(text: str, pos: int, today: date) -> c.Command:
    words, _ = g._read(g._all_tokens(text, pos), {}, today)
    if len(words) != 1:
        raise InvalidInput("grammar.bad_on_off", value=shown(g._joined(words)))
    on = ON_OFF.get(words[0].text.lower())
    if on is None:
        raise InvalidInput("grammar.bad_on_off", value=shown(plain(words[0].text)))
    return c.TaskMorning(on)


SUBCOMMANDS = {
    **dict.fromkeys(("new", "add", "create", "추가", "등록"), "new"),
    **dict.fromkeys(("list", "ls", "목록"), "list"),
    **dict.fromkeys(("done", "complete", "finish", "완료"), "done"),
    **dict.fromkeys(("snooze", "later", "미루기"), "snooze"),
    **dict.fromkeys(("show", "view", "보기"), "show"),
    **dict.fromkeys(("morning", "아침"), "morning"),
}
PARSERS = {
    "task_new": task_new,
    "task_list": task_list,
    "task_done": task_done,
    "task_snooze": task_snooze,
    "task_show": task_show,
    "task_morning": task_morning,
}

# Registered with the shared grammar (commands.grammar imports this module at its end).
g.SUBCOMMANDS["task"] = SUBCOMMANDS
g._PARSERS.update(PARSERS)
