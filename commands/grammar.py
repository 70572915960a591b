"""The slash-command grammar: ``/lead``, ``/deal``, ``/pipeline`` text -> a typed command.

docs/commands.md is the contract. The shape of every command is the same:

* the first word is the sub-command (case-insensitive; Korean aliases such as ``이동`` work);
* then free words, then ``key:value`` pairs. The first free words are the title or the
  reference; quotes group words; after the first ``key:`` no free words are allowed, except in
  the list commands, whose flags (``mine``, ``stalled``, ``@kim``) may stand anywhere;
* ``key: value`` with a space after the colon is read as ``key:value``.

Where a reference and another free value share the free words (``/deal move``, ``/lead
status``, ``/deal snooze``), a number (``42``, ``D42``) or a quoted title is the reference and
the rest is the value; unquoted words give the last word to the value (``/deal move acme erp
Proposal``). ``/deal note`` and ``/deal lost`` take the rest of the text as written, so
their reference is one word: a number, a quoted title or a one-word prefix.

Nothing here touches the database: names of stages, pipelines and people stay unresolved.
Every mistake raises :class:`InvalidInput` with a ``grammar.*`` key, the offending text as
``value`` and the ``usage`` line of the sub-command, and nothing else is ever raised.

Lengths are checked here too, so whatever passes fits its column and makes a sane query: every
free text (a title, a company, a note, a search, a reference, a name…) against
:data:`commands.values.TEXT_LIMITS`, with a message that says the limit, and the whole text
against :data:`MAX_COMMAND_TEXT` (4,000 characters) before it is even read. The longest single
value, a note, is 3,000 characters, so 4,000 leave room for the rest of the command; a
50 KB command is a paste gone wrong or a probe, and is refused before the lexer sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from commands import types as c
from commands.lexer import Token, key_at, next_token, plain, rest, shown, tokens
from commands.values import (
    MAX_SLACK_ID,
    is_number_ref,
    is_user,
    parse_amount,
    parse_count,
    parse_currency,
    parse_date,
    parse_deal_ref,
    parse_email,
    parse_lead_ref,
    parse_period,
    parse_rate,
    parse_reps,
    parse_user,
    parse_winrate,
    within_limit,
)
from domain.custom_fields import RESERVED
from domain.errors import InvalidInput

COMMANDS = ("lead", "deal", "pipeline", "task", "company", "person")
MAX_COMMAND_TEXT = 4000  # characters of a whole command's text (see the module docstring)

# Sub-command words -> canonical names (the ``<command>_<name>`` usage lines).
SUBCOMMANDS: dict[str, dict[str, str]] = {
    "lead": {
        **dict.fromkeys(("new", "add", "create", "추가", "등록"), "new"),
        **dict.fromkeys(("status", "상태"), "status"),
        **dict.fromkeys(("convert", "전환"), "convert"),
        **dict.fromkeys(("list", "ls", "목록"), "list"),
        **dict.fromkeys(("show", "view", "보기"), "show"),
        **dict.fromkeys(("export", "내보내기"), "export"),
    },
    "deal": {
        **dict.fromkeys(("new", "add", "create", "추가", "등록"), "new"),
        **dict.fromkeys(("move", "이동"), "move"),
        **dict.fromkeys(("won", "win", "성사"), "won"),
        **dict.fromkeys(("lost", "lose", "실패"), "lost"),
        **dict.fromkeys(("set", "수정"), "set"),
        **dict.fromkeys(("renewal", "renew", "갱신"), "renewal"),
        **dict.fromkeys(("note", "메모"), "note"),
        **dict.fromkeys(("show", "view", "보기"), "show"),
        **dict.fromkeys(("list", "ls", "목록"), "list"),
        **dict.fromkeys(("find", "search", "검색"), "find"),
        **dict.fromkeys(("snooze", "미루기"), "snooze"),
        **dict.fromkeys(("reopen", "재개", "다시열기"), "reopen"),  # issue 13
        **dict.fromkeys(("export", "내보내기"), "export"),
    },
    "pipeline": {
        **dict.fromkeys(("board", "보드"), "board"),
        **dict.fromkeys(("forecast", "예측"), "forecast"),
        **dict.fromkeys(("metrics", "지표"), "metrics"),
        **dict.fromkeys(("plan", "계획"), "plan"),
        **dict.fromkeys(("new", "추가"), "new"),
        **dict.fromkeys(("edit", "편집"), "edit"),
        **dict.fromkeys(("settings", "설정"), "settings"),
        **dict.fromkeys(("role", "역할"), "role"),
        **dict.fromkeys(("coach", "코치", "코칭"), "coach"),
        **dict.fromkeys(("quota", "쿼터", "할당"), "quota"),
        **dict.fromkeys(("calibrate", "보정"), "calibrate"),
        **dict.fromkeys(("cadence", "cadences", "케이던스"), "cadence"),
        **dict.fromkeys(("workflows", "workflow", "워크플로우"), "workflows"),
        **dict.fromkeys(("import", "가져오기"), "import"),
    },
    "company": {
        **dict.fromkeys(("show", "view", "보기"), "show"),
        **dict.fromkeys(("find", "search", "검색"), "find"),
    },
    "person": {
        **dict.fromkeys(("show", "view", "보기"), "show"),
    },
}
HELP_WORDS = frozenset({"help", "?", "도움말", "도움"})
MINE_WORDS = frozenset({"mine", "me", "my", "내꺼", "내것", "내"})
TEAM_WORDS = frozenset({"team", "팀", "전체", "all"})
STALLED_WORDS = frozenset({"stalled", "stuck", "정체"})
FORECAST_BY = {
    **dict.fromkeys(("month", "monthly", "월", "월별"), "month"),
    **dict.fromkeys(("quarter", "quarterly", "분기", "분기별"), "quarter"),
}
ROLES = {
    **dict.fromkeys(("admin", "관리자"), "admin"),
    **dict.fromkeys(("manager", "매니저"), "manager"),
    **dict.fromkeys(("rep", "영업", "영업담당"), "rep"),
}
KEY_ALIASES = {
    "금액": "amount",
    "단계": "stage",
    "마감일": "close",
    "마감": "close",
    "정렬": "sort",
    "close-date": "close",
    "close_date": "close",
    "담당자": "owner",
    "회사": "company",
    "고객": "contact",
    "파이프라인": "pipeline",
    "상태": "status",
    "이메일": "email",
    "출처": "source",
    "유입경로": "source",
    "규모": "size",
    "제목": "title",
    "이름": "name",
    "사유": "reason",
    "이유": "reason",
    "갱신일": "date",
    "날짜": "date",
    "목표": "target",
    "인원": "reps",
    "기간": "period",
    "평균": "avg",
    "average": "avg",
    "성사율": "winrate",
    "win-rate": "winrate",
    "win_rate": "winrate",
    "기준": "by",
    # /task (issue 14)
    "기한": "due",
    "언제": "due",
    "딜": "deal",
    "리드": "lead",
    "종류": "kind",
    "내용": "text",
    # money (issue 13): an explicit currency switch, and an exchange rate
    "통화": "currency",
    "환율": "rate",
}

Parser = Callable[[str, date], Any]


def parse(command: str, text: str, *, today: date) -> c.Command:
    """``parse("deal", "move 42 Negotiation", today=...)`` -> ``DealMove(DealRef(42), …)``."""
    name = command.strip().lstrip("/").lower()
    if name not in COMMANDS:
        raise InvalidInput("grammar.unknown_command", value=shown(command))
    text = text or ""
    if len(text) > MAX_COMMAND_TEXT:
        raise InvalidInput("grammar.text_too_long", limit=MAX_COMMAND_TEXT, length=len(text))
    if "\x00" in text:  # PostgreSQL stores no NUL; Slack never sends one, a paste might
        raise InvalidInput("grammar.nul_character")
    usage = name
    try:
        first = next_token(text, 0)
        if first is None:
            return c.PipelineBoard() if name == "pipeline" else c.Help(name)
        word = None if first.key or first.quoted else first.text.lower()
        if word in HELP_WORDS:
            return c.Help(name, topic=_help_topic(name, text, first.end))
        sub = SUBCOMMANDS[name].get(word or "")
        if name == "pipeline" and _is_board(sub, text, first.end):
            usage = "pipeline_board"
            return pipeline_board(text, first.end if sub == "board" else 0, today)
        if sub is None:
            raise InvalidInput(
                "grammar.unknown_subcommand", value=shown(_written(first)), command=name
            )
        usage = f"{name}_{sub}"
        if _asks_help(text, first.end):
            return c.Help(name, topic=sub)
        return _PARSERS[usage](text, first.end, today)
    except InvalidInput as err:
        err.params.setdefault("usage", usage)
        raise


def _help_topic(command: str, text: str, pos: int) -> str | None:
    """``/deal help move`` -> "move"; an unknown topic shows the whole help."""
    try:
        topic = next_token(text, pos)
    except InvalidInput:
        return None
    if topic is None or topic.key is not None:
        return None
    return SUBCOMMANDS[command].get(topic.text.lower())


def _asks_help(text: str, pos: int) -> bool:
    """``/deal move help``: the sub-command followed by nothing but a help word.

    Split on spaces as the lexer splits words, not tokenised: a help word holds no quote,
    ``<`` or ``key:``, so it is a token exactly when it is the only word, and the
    sub-command's parser then reads the text once instead of twice (issue 17)."""
    words = text[pos:].split()
    return len(words) == 1 and words[0].lower() in HELP_WORDS


def _is_board(sub: str | None, text: str, pos: int) -> bool:
    """``/pipeline Renewals`` and ``/pipeline New business`` show a board; ``/pipeline new``
    alone opens the new-pipeline modal."""
    if sub in (None, "board"):
        return True
    if sub != "new":
        return False
    words = _all_tokens(text, pos)
    return bool(words) and not any(w.key for w in words)


# --- shared pieces ---------------------------------------------------------------------


def _all_tokens(text: str, pos: int) -> list[Token]:
    return list(tokens(text, pos))


def _joined(words: list[Token]) -> str:
    """Free words as one plain, single-spaced string (``Acme  ERP`` -> ``Acme ERP``)."""
    return " ".join(" ".join(plain(w.text) for w in words).split())


def _text(value: str, today: date) -> str:
    return " ".join(plain(value).split())


def _limited(what: str) -> Parser:
    """A ``key:value`` text no longer than its column (``company:``, ``source:``…)."""

    def read(value: str, today: date) -> str:
        return within_limit(_text(value, today), what)

    return read


_title = _limited("title")
_company = _limited("company")
_contact = _limited("contact")
_name = _limited("name")
_source = _limited("source")
_status = _limited("status")
_pipeline = _limited("pipeline")


def _stage(value: str, today: date) -> c.StageRef:
    return c.StageRef(within_limit(_text(value, today), "stage"))


def _amount(value: str, today: date) -> c.Amount:
    return parse_amount(value)


def _currency(value: str, today: date) -> str:
    return parse_currency(value)


def _rate(value: str, today: date) -> tuple[str, Decimal | None]:
    return parse_rate(value)


def _date(value: str, today: date) -> date:
    return parse_date(value, today=today)


def _owner(value: str, today: date) -> c.UserRef:
    return _user(value, bare=True)


def _user(text: str, *, bare: bool = False) -> c.UserRef:
    """A person, with a name no longer than a member's and an id no longer than Slack's."""
    user = parse_user(text, bare=bare)
    if user.slack_id is not None and len(user.slack_id) > MAX_SLACK_ID:
        raise InvalidInput("grammar.bad_user", value=shown(plain(text)))
    if user.name is not None:
        within_limit(user.name, "user")
    return user


def _email(value: str, today: date) -> str:
    return within_limit(parse_email(value), "email")


def _size(value: str, today: date) -> int:
    return parse_count(value, key="size")


def _period(value: str, today: date) -> c.Period:
    return parse_period(value, today=today)


def _reps(value: str, today: date) -> int:
    return parse_reps(value)


def _winrate(value: str, today: date) -> Decimal:
    return parse_winrate(value)


def _written(word: Token) -> str:
    """A token as the user wrote it, near enough to quote back (``colour:red``)."""
    return plain(word.text) if word.key is None else f"{word.key}:{plain(word.text)}"


def _extra(word: Token) -> InvalidInput:
    return InvalidInput("grammar.extra_words", value=shown(_written(word)))


def _read(
    words_and_keys: list[Token],
    spec: dict[str, Parser],
    today: date,
    *,
    flags_anywhere: bool = False,
    custom: list[tuple[str, str]] | None = None,
) -> tuple[list[Token], dict[str, Any]]:
    """Split tokens into the free words and the parsed ``key:value`` pairs ``spec`` allows.

    With ``custom``, a key ``spec`` does not know is kept there as ``(key, raw text)`` for
    the workspace's custom fields (commands.field_values reads it once the field is known)."""
    words: list[Token] = []
    values: dict[str, Any] = {}
    toks = list(words_and_keys)
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok.key is None:
            if values and not flags_anywhere:
                raise _extra(tok)
            words.append(tok)
            continue
        key = KEY_ALIASES.get(tok.key, tok.key)
        if key not in spec and custom is not None and key not in RESERVED:
            i = _custom_value(toks, i, tok, custom, greedy=not flags_anywhere)
            continue
        if key not in spec:
            raise InvalidInput("grammar.unknown_key", value=shown(tok.key + ":"))
        if key in values:
            raise InvalidInput("grammar.duplicate_key", value=shown(tok.key + ":"))
        raw = tok.text
        if not raw and not tok.quoted and i < len(toks) and toks[i].key is None:
            raw = toks[i].text  # "amount: 5" is "amount:5"
            i += 1
        if not plain(raw).strip():
            raise InvalidInput("grammar.missing_value", value=shown(tok.key + ":"))
        while i < len(toks) and _continues(spec[key], raw, toks[i]):
            raw = f"{raw} {toks[i].text}"  # "amount:1억 2천만", "close:다음 주 금요일"
            i += 1
        values[key] = spec[key](raw, today)
    return words, values


def _custom_value(
    toks: list[Token], i: int, tok: Token, custom: list[tuple[str, str]], *, greedy: bool
) -> int:
    """``budget:5000만원``, ``industry:"IT 서비스"``: a custom field's raw text; in ``set``
    the free words after it are its rest (``memo:first call went well``), in a list only
    words that continue an amount or a date (``budget>=1억 5천만``)."""
    raw = tok.text
    if not raw and not tok.quoted and i < len(toks) and toks[i].key is None:
        raw, i = toks[i].text, i + 1
    if not plain(raw).strip():
        raise InvalidInput("grammar.missing_value", value=shown(tok.key + ":"))
    while i < len(toks) and toks[i].key is None and not toks[i].quoted:
        if not greedy and not (
            _continues(_amount, raw, toks[i]) or _continues(_date, raw, toks[i])
        ):
            break
        raw = f"{raw} {toks[i].text}"
        i += 1
    if any(key == tok.key for key, _ in custom):
        raise InvalidInput("grammar.duplicate_key", value=shown(tok.key + ":"))
    custom.append((tok.key, raw))
    return i


_AMOUNT_TAIL = re.compile(
    r"[0-9,.일이삼사오육칠팔구]*[조억만천백십][조억만천백십0-9,.일이삼사오육칠팔구]*(원|달러)?"
    r"|원|달러|usd|krw",
    re.IGNORECASE,
)
_GROUP = re.compile(r"[0-9][0-9,]*(원|달러)?")  # "1억 5000": a group after 억 or 조 belongs to it
_DATE_TAIL = re.compile(
    r"[0-9]{1,2}[.월일]?|주|달|말|말일|[월화수목금토일](요일)?|주[월화수목금토일](요일)?"
    r"|달말일?|of|the|month|next|(mon|tue|wed|thu|fri|sat|sun)[a-z]*",
    re.IGNORECASE,
)
_PERIOD_TAIL = re.compile(r"[0-9]{1,4}(일|개월|달)(간|동안)?|간|동안|분기|달|month|quarter|year")


def _continues(parser: Parser, raw: str, word: Token) -> bool:
    """A free word that can only be the rest of the value before it, written with spaces:
    ``2천만``, ``5천원``, ``USD`` after an amount (and ``5000`` after ``1억``); ``31일``,
    ``12.``, ``주``, ``금요일``, ``friday`` after a date; ``30일``, ``분기`` after a period."""
    if word.key is not None or word.quoted:
        return False
    text = word.text
    if parser is _amount:
        after_eok = plain(raw).strip().endswith(("억", "조"))
        return bool(_AMOUNT_TAIL.fullmatch(text) or (after_eok and _GROUP.fullmatch(text)))
    if parser is _date:
        return bool(_DATE_TAIL.fullmatch(text))
    if parser is _period:
        return bool(_PERIOD_TAIL.fullmatch(text))
    tail = getattr(parser, "tail", None)  # a parser may say which words continue its value
    return bool(tail is not None and tail.fullmatch(text))


def _deal_ref(words: list[Token]) -> c.DealRef:
    _check_number_ref(words)
    if not words:
        raise InvalidInput("grammar.missing_deal")
    ref = parse_deal_ref(_joined(words))
    if ref.text is not None:
        within_limit(ref.text, "deal")
    return ref


def _lead_ref(words: list[Token]) -> c.LeadRef:
    _check_number_ref(words)
    if not words:
        raise InvalidInput("grammar.missing_lead")
    ref = parse_lead_ref(_joined(words))
    if ref.text is not None:
        within_limit(ref.text, "lead")
    return ref


def _check_number_ref(words: list[Token]) -> None:
    """``42 extra``: a number is the whole reference; a title with a number needs quotes."""
    if len(words) > 1 and _is_number(words[0]):
        raise _extra(words[1])


def _is_number(word: Token) -> bool:
    return word.key is None and not word.quoted and is_number_ref(word.text)


def _split_last(words: list[Token]) -> tuple[list[Token], list[Token]]:
    """Reference and value: ``42 Closed won``, ``"Acme ERP" Proposal``, ``acme erp Proposal``."""
    if len(words) < 2:
        return words, []
    if _is_number(words[0]) or words[0].quoted:
        return words[:1], words[1:]
    if len(words) > 2 and _STAGE_WORD.fullmatch(words[-1].text) and not words[-1].quoted:
        return words[:-2], words[-2:]  # "acme erp 협상 단계로": the stage is two words
    return words[:-1], words[-1:]


_STAGE_WORD = re.compile(r"단계(?:로|으로|에|를|을)?")


def _no_words(words: list[Token]) -> None:
    if words:
        raise _extra(words[0])


def _require_some(values: dict[str, Any]) -> None:
    if not values:
        raise InvalidInput("grammar.nothing_to_change")


def _user_filter(words: list[Token], values: dict[str, Any]) -> tuple[bool, c.UserRef | None]:
    """``mine`` or ``@kim`` / ``owner:@kim`` among list flags; both at once is a mistake."""
    mine = False
    owner = values.get("owner")
    for word in words:
        if word.text.lower() in MINE_WORDS and not word.quoted:
            mine = True
        elif is_user(word.text):
            if owner is not None:
                raise _extra(word)
            owner = _user(word.text)
        else:
            raise _extra(word)
    if mine and owner is not None:
        raise InvalidInput("grammar.mine_and_user", value=shown(_owner_text(owner)))
    return mine, owner


def _owner_text(owner: c.UserRef) -> str:
    return "@" + (owner.name or owner.slack_id or "")


# --- /lead -----------------------------------------------------------------------------

LEAD_NEW_KEYS: dict[str, Parser] = {
    "company": _company,
    "email": _email,
    "source": _source,
    "size": _size,
    "owner": _owner,
    "status": _status,
    "name": _name,
}


def lead_new(text: str, pos: int, today: date) -> c.Command:
    toks = _all_tokens(text, pos)
    if not toks:
        return c.LeadNew(name=None)
    custom: list[tuple[str, str]] = []  # custom fields for leads (issue 15)
    words, values = _read(toks, LEAD_NEW_KEYS, today, custom=custom)
    name = values.pop("name", None)
    if name and words:
        raise _extra(words[0])
    name = name or within_limit(_joined(words), "name")
    if not name:
        raise InvalidInput("grammar.missing_name")
    return c.LeadNew(name=name, **values, custom=tuple(custom))


def lead_status(text: str, pos: int, today: date) -> c.Command:
    words, values = _read(_all_tokens(text, pos), {"status": _status}, today)
    if "status" in values:
        return c.LeadStatus(lead=_lead_ref(words), status=values["status"])
    ref, status = _split_last(words)
    lead = _lead_ref(ref)
    if not status:
        raise InvalidInput("grammar.missing_status")
    return c.LeadStatus(lead=lead, status=within_limit(_joined(status), "status"))


LEAD_CONVERT_KEYS: dict[str, Parser] = {
    "amount": _amount,
    "pipeline": _pipeline,
    "stage": _stage,
    "title": _title,
    "close": _date,
}


def lead_convert(text: str, pos: int, today: date) -> c.Command:
    words, values = _read(_all_tokens(text, pos), LEAD_CONVERT_KEYS, today)
    return c.LeadConvert(lead=_lead_ref(words), **values)


def lead_list(text: str, pos: int, today: date) -> c.Command:
    spec: dict[str, Parser] = {"status": _status, "owner": _owner}
    words, values = _read(_all_tokens(text, pos), spec, today, flags_anywhere=True)
    mine, owner = _user_filter(words, values)
    return c.LeadList(status=values.get("status"), mine=mine, owner=owner)


def lead_show(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    return c.LeadShow(lead=_lead_ref(words))


# --- /deal -----------------------------------------------------------------------------

DEAL_NEW_KEYS: dict[str, Parser] = {
    "amount": _amount,
    "stage": _stage,
    "pipeline": _pipeline,
    "close": _date,
    "owner": _owner,
    "company": _company,
    "contact": _contact,
    "title": _title,
}


def deal_new(text: str, pos: int, today: date) -> c.Command:
    toks = _all_tokens(text, pos)
    if not toks:
        return c.DealNew(title=None)
    custom: list[tuple[str, str]] = []
    words, values = _read(toks, DEAL_NEW_KEYS, today, custom=custom)
    title = values.pop("title", None)
    if title and words:
        raise _extra(words[0])
    title = title or within_limit(_joined(words), "title")
    if not title:
        raise InvalidInput("grammar.missing_title")
    return c.DealNew(title=title, **values, custom=tuple(custom))


def deal_move(text: str, pos: int, today: date) -> c.Command:
    words, values = _read(_all_tokens(text, pos), {"stage": _stage}, today)
    if "stage" in values:
        return c.DealMove(deal=_deal_ref(words), stage=values["stage"])
    ref, stage = _split_last(words)
    deal = _deal_ref(ref)
    if not stage:
        raise InvalidInput("grammar.missing_stage")
    return c.DealMove(deal=deal, stage=c.StageRef(within_limit(_joined(stage), "stage")))


def deal_reopen(text: str, pos: int, today: date) -> c.Command:
    """``42``, ``42 Proposal`` or ``"Acme ERP" Proposal``: a closed deal back into a stage."""
    words, values = _read(_all_tokens(text, pos), {"stage": _stage}, today)
    if "stage" in values:
        return c.DealReopen(deal=_deal_ref(words), stage=values["stage"])
    if len(words) > 1 and (_is_number(words[0]) or words[0].quoted):
        stage = c.StageRef(within_limit(_joined(words[1:]), "stage"))
        return c.DealReopen(deal=_deal_ref(words[:1]), stage=stage)
    return c.DealReopen(deal=_deal_ref(words))


def deal_won(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    return c.DealWon(deal=_deal_ref(words))


REASON_KEYS = frozenset({"reason", "사유", "이유"})


def deal_lost(text: str, pos: int, today: date) -> c.Command:
    """``42 reason:"budget"``, ``42 budget cut`` or ``acme erp reason:budget cut``.

    After a number or a quoted title the rest of the text is the reason, as written; after
    unquoted words every free word is the title and only ``reason:`` gives a reason.
    """
    first = next_token(text, pos)
    if first is None or first.key in REASON_KEYS:
        raise InvalidInput("grammar.missing_deal")
    if first.key is not None:
        raise InvalidInput("grammar.unknown_key", value=shown(first.key + ":"))
    words, after = [first], first.end
    free_reason = _is_number(first) or first.quoted
    if not free_reason:
        while key_at(text, after) is None and (word := next_token(text, after)) is not None:
            words.append(word)
            after = word.end
    found = key_at(text, after)
    reason = None
    if found is not None and found.key in REASON_KEYS:
        reason = _reason(rest(text, found.value_start))
        if not reason:
            raise InvalidInput("grammar.missing_value", value=shown(found.key + ":"))
    elif found is not None and not free_reason:
        raise InvalidInput("grammar.unknown_key", value=shown(found.key + ":"))
    elif free_reason:
        reason = _reason(rest(text, after)) or None
    return c.DealLost(deal=_deal_ref(words), reason=reason)


def _reason(value: str) -> str:
    return within_limit(plain(value).strip(), "reason")


DEAL_SET_KEYS: dict[str, Parser] = {
    "amount": _amount,
    "currency": _currency,
    "close": _date,
    "owner": _owner,
    "title": _title,
    "company": _company,
}


def deal_set(text: str, pos: int, today: date) -> c.Command:
    custom: list[tuple[str, str]] = []
    words, values = _read(_all_tokens(text, pos), DEAL_SET_KEYS, today, custom=custom)
    deal = _deal_ref(words)
    _require_some(values or dict(custom))
    return c.DealSet(deal=deal, **values, custom=tuple(custom))


def deal_renewal(text: str, pos: int, today: date) -> c.Command:
    spec: dict[str, Parser] = {"date": _date, "mrr": _amount}
    words, values = _read(_all_tokens(text, pos), spec, today)
    deal = _deal_ref(words)
    _require_some(values)
    return c.DealRenewal(deal=deal, **values)


def deal_note(text: str, pos: int, today: date) -> c.Command:
    """The note is the rest of the text as written, after a one-word reference."""
    first = next_token(text, pos)
    if first is None or first.key is not None:
        raise InvalidInput("grammar.missing_deal")
    note = plain(rest(text, first.end)).strip()
    if not note:
        raise InvalidInput("grammar.missing_note")
    return c.DealNote(deal=_deal_ref([first]), text=within_limit(note, "note"))


def deal_show(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    return c.DealShow(deal=_deal_ref(words))


LIST_CLOSE = {  # issue 13: /deal list close:this-month
    **dict.fromkeys(("this-month", "thismonth", "이번달", "이번-달"), "this-month"),
    **dict.fromkeys(("next-month", "nextmonth", "다음달", "다음-달"), "next-month"),
    **dict.fromkeys(("this-quarter", "thisquarter", "이번분기", "이번-분기"), "this-quarter"),
    **dict.fromkeys(("overdue", "past", "지연", "지남"), "overdue"),
}
LIST_SORT = {
    **dict.fromkeys(("amount", "금액"), "amount"),
    **dict.fromkeys(("close", "마감일", "마감"), "close"),
    **dict.fromkeys(("age", "stalled", "정체"), None),
}


def _list_close(value: str, today: date) -> str:
    found = LIST_CLOSE.get(plain(value).strip().lower())
    if found is None:
        raise InvalidInput("grammar.bad_list_close", value=shown(plain(value)))
    return found


def _list_sort(value: str, today: date) -> str | None:
    key = plain(value).strip().lower()
    if key not in LIST_SORT:
        raise InvalidInput("grammar.bad_list_sort", value=shown(plain(value)))
    return LIST_SORT[key]


def deal_list(text: str, pos: int, today: date) -> c.Command:
    spec: dict[str, Parser] = {
        **{"stage": _stage, "pipeline": _pipeline, "owner": _owner},
        **{"close": _list_close, "sort": _list_sort},
    }
    pairs: list[tuple[str, str]] = []
    words, values = _read(_all_tokens(text, pos), spec, today, flags_anywhere=True, custom=pairs)
    stalled = any(w.text.lower() in STALLED_WORDS and not w.quoted for w in words)
    others = [w for w in words if not (w.text.lower() in STALLED_WORDS and not w.quoted)]
    others, custom = custom_filters(others, pairs)
    mine, owner = _user_filter(others, values)
    return c.DealList(
        mine=mine,
        owner=owner,
        stage=values.get("stage"),
        pipeline=values.get("pipeline"),
        stalled=stalled,
        close=values.get("close"),
        sort=values.get("sort"),
        custom=custom,
    )


_COMPARE = re.compile(r"([A-Za-z가-힣][A-Za-z0-9가-힣_-]*)(>=|<=|>|<|=)(.*)", re.DOTALL)


def custom_filters(
    words: list[Token], pairs: list[tuple[str, str]]
) -> tuple[list[Token], tuple[tuple[str, str, str], ...]]:
    """``budget>=1억``, ``industry:제조``, ``budget:>=1억``: ``(key, op, raw)`` each (``=`` is
    ``:``); the words that are not a comparison stay flags."""
    found: list[tuple[str, str, str]] = []
    for key, raw in pairs:
        match = re.match(r"(>=|<=|>|<|=)?(.*)", plain(raw), re.DOTALL)
        op = match[1] or ":"
        found.append((key, ":" if op == "=" else op, match[2].strip()))
    rest: list[Token] = []
    pending: tuple[str, str, str] | None = None
    for word in words:
        match = _COMPARE.fullmatch(plain(word.text))  # also budget>="1억 5천만" (the pager's)
        if match is not None:
            pending = (match[1].lower(), ":" if match[2] == "=" else match[2], match[3])
            found.append(pending)
        elif pending is not None and (
            _continues(_amount, pending[2], word) or _continues(_date, pending[2], word)
        ):
            pending = (pending[0], pending[1], f"{pending[2]} {plain(word.text)}")
            found[-1] = pending
        else:
            pending = None
            rest.append(word)
    for key, _, raw in found:
        if not raw.strip():
            raise InvalidInput("grammar.missing_value", value=shown(key))
    return rest, tuple(found)


def deal_find(text: str, pos: int, today: date) -> c.Command:
    query = " ".join(plain(rest(text, pos)).split())
    if not query:
        raise InvalidInput("grammar.missing_query")
    return c.DealFind(query=within_limit(query, "query"))


def deal_snooze(text: str, pos: int, today: date) -> c.Command:
    """``42 until:2026-12-01``, ``42 +7d``, ``acme tomorrow``, ``42 내일까지``."""
    toks = _all_tokens(text, pos)
    words, values = _read(toks, {"until": _date}, today)
    if "until" in values:
        until = values["until"]
        at = [KEY_ALIASES.get(t.key or "", t.key) for t in toks].index("until")
        written = " ".join(t.text for t in toks[at:]) or until.isoformat()  # "until:다음 주 월요일"
    else:
        # After a number or a quoted title every other word is the date (42 다음주 금요일).
        cut = 1 if len(words) > 1 and (_is_number(words[0]) or words[0].quoted) else -1
        words, when = (words[:cut], words[cut:]) if len(words) > 1 else (words, [])
        _deal_ref(words)
        if not when:
            raise InvalidInput("grammar.missing_date")
        written = " ".join(w.text for w in when)
        until = parse_date(plain(written).strip().removesuffix("까지"), today=today)
    deal = _deal_ref(words)
    if until <= today:
        raise InvalidInput("grammar.snooze_past", value=shown(plain(written)))
    return c.DealSnooze(deal=deal, until=until)


# --- /pipeline -------------------------------------------------------------------------


def pipeline_board(text: str, pos: int, today: date) -> c.Command:
    """``/pipeline``, ``/pipeline Renewals``, ``/pipeline board "New business"``."""
    words, _ = _read(_all_tokens(text, pos), {}, today)
    return c.PipelineBoard(name=within_limit(_joined(words), "pipeline") or None)


def _forecast_by(value: str, today: date) -> str:
    by = FORECAST_BY.get(_text(value, today).lower())
    if by is None:
        raise InvalidInput("grammar.bad_forecast_by", value=shown(plain(value)))
    return by


def pipeline_forecast(text: str, pos: int, today: date) -> c.Command:
    spec: dict[str, Parser] = {"pipeline": _pipeline, "by": _forecast_by, "owner": _owner}
    words, values = _read(_all_tokens(text, pos), spec, today, flags_anywhere=True)
    by = values.get("by")
    owner = values.get("owner")
    for word in words:
        if not word.quoted and is_user(word.text) and owner is None:
            owner = _user(word.text)  # /pipeline forecast @lee
            continue
        found = None if word.quoted else FORECAST_BY.get(word.text.lower())
        if found is None or by is not None:
            raise _extra(word)
        by = found
    return c.PipelineForecast(by=by or "month", pipeline=values.get("pipeline"), owner=owner)


def pipeline_metrics(text: str, pos: int, today: date) -> c.Command:
    """``/pipeline metrics Renewals period:90d @kim``; a free ``90d`` is the period too."""
    spec: dict[str, Parser] = {"pipeline": _pipeline, "period": _period, "owner": _owner}
    words, values = _read(_all_tokens(text, pos), spec, today, flags_anywhere=True)
    names: list[Token] = []
    words = list(words)
    while words:
        word = words.pop(0)
        if is_user(word.text) and not word.quoted:
            if "owner" in values:
                raise _extra(word)
            values["owner"] = _user(word.text)
        elif "period" not in values and words and (two := _free_period(word, today, words[0])):
            values["period"] = two  # 최근 30일, 지난 분기
            words.pop(0)
        elif "period" not in values and (period := _free_period(word, today)) is not None:
            values["period"] = period
        else:
            names.append(word)
    if names and "pipeline" in values:
        raise _extra(names[0])
    if names:
        values["pipeline"] = within_limit(_joined(names), "pipeline")
    return c.PipelineMetrics(**values)


def _free_period(word: Token, today: date, then: Token | None = None) -> c.Period | None:
    """A free word (or two: ``최근 30일``) that can only be a period (``90d``, ``2026-Q3``);
    a bare year is a name."""
    if word.quoted or word.text.isdigit():
        return None
    text = word.text
    if then is not None:
        if then.quoted or then.key is not None or not _PERIOD_TAIL.fullmatch(then.text):
            return None
        text = f"{text} {then.text}"
    try:
        return parse_period(text, today=today)
    except InvalidInput:
        return None


PLAN_KEYS: dict[str, Parser] = {
    "target": _amount,
    "reps": _reps,
    "period": _period,
    "avg": _amount,
    "winrate": _winrate,
}


def pipeline_plan(text: str, pos: int, today: date) -> c.Command:
    words, values = _read(_all_tokens(text, pos), PLAN_KEYS, today)
    _no_words(words)
    if "target" not in values:
        raise InvalidInput("grammar.missing_target")
    return c.PipelinePlan(**values)


def pipeline_new(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    _no_words(words)
    return c.PipelineNew()


def pipeline_edit(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    name = within_limit(_joined(words), "pipeline")
    if not name:
        raise InvalidInput("grammar.missing_pipeline")
    return c.PipelineEdit(name=name)


# ``/pipeline settings key:value``: each key (and its aliases) -> the setting it changes. The
# values are checked by domain.settings.change_settings, which knows what each may be.
SETTING_KEYS = {
    **dict.fromkeys(("deals", "deals-channel", "deals_channel", "딜채널"), "deals_channel"),
    **dict.fromkeys(("digest", "digest-channel", "digest_channel", "요약채널"), "digest_channel"),
    **dict.fromkeys(("digest-time", "digest_time", "time", "요약시각", "시각"), "digest_time"),
    **dict.fromkeys(("timezone", "tz", "시간대"), "timezone"),
    **dict.fromkeys(("language", "lang", "locale", "언어"), "locale"),
    **dict.fromkeys(("currency", "통화"), "currency"),
    **dict.fromkeys(("stall", "stall-days", "stall_days", "정체기준"), "stall_days"),
    **dict.fromkeys(("holidays", "holiday-country", "공휴일"), "holiday_country"),
}


_CHANNEL_MENTION = re.compile(r"<#([CG][A-Z0-9]{1,31})(?:\|[^>]*)?>")


def _setting(key: str) -> Parser:
    def read(value: str, today: date) -> tuple[str, str]:
        if match := _CHANNEL_MENTION.fullmatch(value.strip()):  # Slack's <#C123|deals>
            return key, match[1]
        return key, within_limit(_text(value, today), "name")

    return read


def pipeline_settings(text: str, pos: int, today: date) -> c.Command:
    """No arguments: the settings modal; ``key:value`` pairs change those settings at once;
    ``rate:USD=1380`` sets an exchange rate (issue 13)."""
    spec = {alias: _setting(key) for alias, key in SETTING_KEYS.items()} | {"rate": _rate}
    words, values = _read(_all_tokens(text, pos), spec, today)
    _no_words(words)
    rate = values.pop("rate", None)
    changes: dict[str, str] = {}
    for alias, (key, value) in values.items():
        if key in changes:
            raise InvalidInput("grammar.duplicate_key", value=shown(alias + ":"))
        changes[key] = value
    if rate is not None and changes:
        raise InvalidInput("money.rate_alone")
    return c.PipelineSettings(changes=tuple(changes.items()), rate=rate)


def pipeline_role(text: str, pos: int, today: date) -> c.Command:
    """``@kim manager`` or ``manager @kim``."""
    words, _ = _read(_all_tokens(text, pos), {}, today)
    users = [w for w in words if is_user(w.text) and not w.quoted]
    others = [w for w in words if w not in users]
    if len(users) > 1:
        raise _extra(users[1])
    if not users:
        raise InvalidInput("grammar.missing_user")
    if not others:
        raise InvalidInput("grammar.missing_role")
    if len(others) > 1:
        raise _extra(others[1])
    role = ROLES.get(plain(others[0].text).lower())
    if role is None:
        raise InvalidInput("grammar.bad_role", value=shown(plain(others[0].text)))
    return c.Role(user=_user(users[0].text), role=role)


def pipeline_coach(text: str, pos: int, today: date) -> c.Command:
    """``/pipeline coach``, ``coach me``, ``coach @lee``, ``coach team``."""
    words, _ = _read(_all_tokens(text, pos), {}, today)
    if len(words) > 1:
        raise _extra(words[1])
    if not words:
        return c.PipelineCoach()
    word = words[0]
    low = plain(word.text).lower()
    if not word.quoted and low in MINE_WORDS | {"나"}:
        return c.PipelineCoach()
    if not word.quoted and low in TEAM_WORDS:
        return c.PipelineCoach(team=True)
    return c.PipelineCoach(user=_user(word.text, bare=True))


def pipeline_quota(text: str, pos: int, today: date) -> c.Command:
    """``@lee 3억 period:2027-Q1``, ``team 10억 2027-Q1``: who, how much, when."""
    words, values = _read(
        _all_tokens(text, pos), {"period": _period, "amount": _amount}, today, flags_anywhere=True
    )
    who: list[Token] = []
    amount: list[Token] = []
    for word in words:
        low = plain(word.text).lower()
        if not word.quoted and (is_user(word.text) or low in TEAM_WORDS) and not who:
            who.append(word)
        elif "period" not in values and (period := _free_period(word, today)) is not None:
            values["period"] = period
        elif "amount" not in values:
            amount.append(word)
        else:
            raise _extra(word)
    if not who:
        raise InvalidInput("grammar.quota_missing_who")
    if amount:
        values["amount"] = parse_amount(_joined(amount))
    if "amount" not in values:
        raise InvalidInput("grammar.quota_missing_amount")
    user = None if plain(who[0].text).lower() in TEAM_WORDS else _user(who[0].text)
    return c.PipelineQuota(amount=values["amount"], user=user, period=values.get("period"))


def pipeline_calibrate(text: str, pos: int, today: date) -> c.Command:
    """``Proposal pipeline:"New business"``."""
    words, values = _read(_all_tokens(text, pos), {"pipeline": _pipeline}, today)
    stage = within_limit(_joined(words), "stage")
    if not stage:
        raise InvalidInput("grammar.calibrate_missing_stage")
    return c.PipelineCalibrate(stage=stage, pipeline=values.get("pipeline"))


def pipeline_cadence(text: str, pos: int, today: date) -> c.Command:
    """``/pipeline cadence Contact`` or ``/pipeline cadence Renewal due pipeline:Renewals``."""
    words, values = _read(_all_tokens(text, pos), {"pipeline": _pipeline}, today)
    stage = within_limit(_joined(words), "stage")
    if not stage:
        raise InvalidInput("cadence.missing_stage")
    return c.PipelineCadence(stage=stage, pipeline=values.get("pipeline"))


def pipeline_workflows(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    _no_words(words)
    return c.PipelineWorkflows()


def pipeline_import(text: str, pos: int, today: date) -> c.Command:
    words, _ = _read(_all_tokens(text, pos), {}, today)
    _no_words(words)
    return c.PipelineImport()


# --- /company, /person, exports (issue 15) ------------------------------------


def _query(text: str, pos: int) -> str:
    query = " ".join(plain(rest(text, pos)).split())
    if not query:
        raise InvalidInput("grammar.missing_query")
    return within_limit(query, "query")


def company_show(text: str, pos: int, today: date) -> c.Command:
    return c.CompanyShow(query=_query(text, pos))


def company_find(text: str, pos: int, today: date) -> c.Command:
    return c.CompanyFind(query=_query(text, pos))


def person_show(text: str, pos: int, today: date) -> c.Command:
    return c.PersonShow(query=_query(text, pos))


def deal_export(text: str, pos: int, today: date) -> c.Command:
    """The filters of ``/deal list``."""
    return c.DealExport(filters=deal_list(text, pos, today))


def lead_export(text: str, pos: int, today: date) -> c.Command:
    return c.LeadExport(filters=lead_list(text, pos, today))


_PARSERS: dict[str, Callable[[str, int, date], c.Command]] = {
    "lead_new": lead_new,
    "lead_status": lead_status,
    "lead_convert": lead_convert,
    "lead_list": lead_list,
    "lead_show": lead_show,
    "deal_new": deal_new,
    "deal_move": deal_move,
    "deal_won": deal_won,
    "deal_lost": deal_lost,
    "deal_set": deal_set,
    "deal_renewal": deal_renewal,
    "deal_note": deal_note,
    "deal_show": deal_show,
    "deal_list": deal_list,
    "deal_find": deal_find,
    "deal_snooze": deal_snooze,
    "deal_reopen": deal_reopen,
    "pipeline_board": pipeline_board,
    "pipeline_forecast": pipeline_forecast,
    "pipeline_metrics": pipeline_metrics,
    "pipeline_plan": pipeline_plan,
    "pipeline_new": pipeline_new,
    "pipeline_edit": pipeline_edit,
    "pipeline_settings": pipeline_settings,
    "pipeline_role": pipeline_role,
    "pipeline_coach": pipeline_coach,
    "pipeline_quota": pipeline_quota,
    "pipeline_calibrate": pipeline_calibrate,
    "pipeline_cadence": pipeline_cadence,
    "pipeline_workflows": pipeline_workflows,
    "pipeline_import": pipeline_import,
    "company_show": company_show,
    "company_find": company_find,
    "person_show": person_show,
    "deal_export": deal_export,
    "lead_export": lead_export,
}

# /task (issue 14), custom fields, qualification, lead scoring and /pipeline inbound (issue
# 15) and /pipeline alert (issue 16) live in their own modules, on the pieces above;
# importing them registers them.
import commands.alert_grammar  # noqa: E402, F401
import commands.field_grammar  # noqa: E402, F401
import commands.inbound_grammar  # noqa: E402, F401
import commands.lead_grammar  # noqa: E402, F401
import commands.scoring_grammar  # noqa: E402, F401
import commands.task_grammar  # noqa: E402, F401
