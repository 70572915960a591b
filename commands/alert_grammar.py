"""The ``/pipeline alert`` grammar (issue 16), on the shared pieces of :mod:`commands.grammar`.

``/pipeline alert add won channel:#wins min:1억 [pipeline:Renewals] [stage:Proposal]
[owner:@lee | owner:@lee @park]``, ``/pipeline alert remove 2``, and ``/pipeline alerts`` (or
``/pipeline alert`` alone): the routes modal. A channel is what Slack sends for a channel
picked with ``#`` (``<#C0123|wins>``) or a channel id; ``#wins`` typed as plain text (Slack
did not know it) is read as a name and refused by the handler with a hint, anything else
here. Names (pipeline, stage, people) are resolved by the handler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from commands import grammar as g
from commands import types as c
from commands.lexer import plain, shown
from domain.errors import InvalidInput

EVENTS = {
    **dict.fromkeys(("won", "win", "성사"), "won"),
    **dict.fromkeys(("lost", "lose", "실패"), "lost"),
    **dict.fromkeys(("moved", "move", "moves", "stage", "이동", "단계이동"), "moved"),
    **dict.fromkeys(("created", "new", "big", "신규", "새딜", "생성"), "created"),
    **dict.fromkeys(("stalled", "stall", "stuck", "정체"), "stalled"),
    **dict.fromkeys(("renewal", "renewals", "갱신", "재계약"), "renewal"),
    **dict.fromkeys(("overdue", "task", "tasks", "할일", "기한"), "overdue"),
}
VERBS = {
    **dict.fromkeys(("add", "new", "추가"), "add"),
    **dict.fromkeys(("remove", "delete", "rm", "del", "삭제"), "remove"),
}
_CHANNEL_LINK = re.compile(r"<#([CG][A-Z0-9]{1,31})(?:\|[^<>]*)?>")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,31}")
_CHANNEL_NAME = re.compile(r"#[\w.-]{1,80}")
_USER_WORD = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^<>]*)?>|@[^\s,]+")


@dataclass(frozen=True)
class Channel:
    """``id`` when Slack linked the channel; ``name`` only when it was plain text."""

    id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class PipelineAlerts:
    """``/pipeline alerts``: the routes modal."""


@dataclass(frozen=True)
class PipelineAlertAdd:
    event: str
    channel: Channel
    pipeline: str | None = None
    stage: str | None = None
    min: c.Amount | None = None
    owners: tuple[c.UserRef, ...] = ()


@dataclass(frozen=True)
class PipelineAlertRemove:
    numbers: tuple[int, ...]


def parse_channel(value: str, today: date | None = None) -> Channel:
    text = value.strip()
    if m := _CHANNEL_LINK.fullmatch(text):
        return Channel(id=m.group(1))
    if _CHANNEL_ID.fullmatch(text):
        return Channel(id=text)
    if _CHANNEL_NAME.fullmatch(plain(text)):
        return Channel(name=plain(text)[1:])
    raise InvalidInput("alert.bad_channel", value=shown(plain(text)))


def _owners(value: str, today: date) -> tuple[c.UserRef, ...]:
    words = [w for w in re.split(r"[\s,]+", value.strip()) if w]
    return tuple(g._user(w, bare=True) for w in words)


_owners.tail = _USER_WORD  # type: ignore[attr-defined]  ("owner:@lee @park": a team)

ADD_KEYS = {
    "channel": parse_channel,
    "min": g._amount,
    "pipeline": g._pipeline,
    "stage": g._stage,
    "owner": _owners,
    "team": _owners,
}


def parse_event(word: str) -> str:
    event = EVENTS.get(plain(word).lower())
    if event is None:
        raise InvalidInput(
            "alert.bad_event",
            value=shown(plain(word)),
            events=", ".join(dict.fromkeys(EVENTS.values())),
        )
    return event


def alert_add(text: str, pos: int, today: date) -> PipelineAlertAdd:
    """``won channel:#wins min:1억``: the event, then its filters."""
    words, values = g._read(g._all_tokens(text, pos), ADD_KEYS, today)
    if not words:
        raise InvalidInput("alert.missing_event")
    if len(words) > 1:
        raise g._extra(words[1])
    event = parse_event(words[0].text)
    if "channel" not in values:
        raise InvalidInput("alert.missing_channel")
    stage = values.get("stage")
    return PipelineAlertAdd(
        event=event,
        channel=values["channel"],
        pipeline=values.get("pipeline"),
        stage=stage.text if stage is not None else None,
        min=values.get("min"),
        owners=tuple(values.get("owner", ())) + tuple(values.get("team", ())),
    )


def alert_remove(text: str, pos: int, today: date) -> PipelineAlertRemove:
    """``2`` or ``2 5``: route numbers as ``/pipeline alerts`` shows them."""
    words, _ = g._read(g._all_tokens(text, pos), {}, today)
    if not words:
        raise InvalidInput("alert.bad_number", value="")
    numbers = []
    for word in words:
        raw = plain(word.text).lstrip("#").rstrip(".,")
        if not raw.isdigit() or len(raw) > 6:
            raise InvalidInput("alert.bad_number", value=shown(plain(word.text)))
        numbers.append(int(raw))
    return PipelineAlertRemove(tuple(dict.fromkeys(numbers)))


def pipeline_alert(text: str, pos: int, today: date):
    """``/pipeline alert add …`` | ``remove …``; alone, the modal."""
    first = g.next_token(text, pos)
    if first is None:
        return PipelineAlerts()
    verb = None if first.key or first.quoted else VERBS.get(first.text.lower())
    if verb is None:
        raise InvalidInput(
            "grammar.unknown_subcommand", value=shown(plain(first.text)), command="pipeline alert"
        )
    return (alert_add if verb == "add" else alert_remove)(text, first.end, today)


def pipeline_alerts(text: str, pos: int, today: date) -> PipelineAlerts:
    words, _ = g._read(g._all_tokens(text, pos), {}, today)
    g._no_words(words)
    return PipelineAlerts()


# Registered with the shared grammar (commands.grammar imports this module at its end).
g.SUBCOMMANDS["pipeline"].update(
    {
        **dict.fromkeys(("alert", "알림"), "alert"),
        **dict.fromkeys(("alerts", "알림목록"), "alerts"),
    }
)
g._PARSERS.update({"pipeline_alert": pipeline_alert, "pipeline_alerts": pipeline_alerts})
g.KEY_ALIASES.update({"채널": "channel", "최소": "min", "최소금액": "min", "팀": "team"})
