"""Due times as people write them: a day, a time of day, or both; or a span from now.

``tomorrow 10:00``, ``내일 오후 3시``, ``오전 10시``, ``금요일 3pm``, ``2026-12-31 17:30``,
``+2d``, ``+3h``, ``in 3 days``, ``3일 후``, ``2시간 뒤``, ``+2bd`` / ``2 business days`` /
``2영업일`` (business days: weekdays that are not the workspace's public holidays).

The grammar does not know the clock or the member's timezone: :func:`parse_due` returns a
:class:`Due`, and :func:`domain.due_times.resolve` turns it into an aware time. A day
without a time means 09:00 local; a time without a day means today, or tomorrow once that
time has passed. Everything here is pure.
"""

from __future__ import annotations

import re
from datetime import date, time

from commands.lexer import plain, shown
from commands.values import parse_date
from domain.due_times import Due
from domain.errors import InvalidInput

_HM = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_AMPM = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?\s*(am|pm|a\.m\.|p\.m\.)")
_KO_TIME = re.compile(
    r"(오전|오후|아침|저녁|밤|낮|새벽)?\s*([0-9]{1,2})\s*시(?:\s*([0-9]{1,2})\s*분|\s*(반))?"
)
_NOON = {"noon": time(12, 0), "정오": time(12, 0), "midnight": time(0, 0), "자정": time(0, 0)}
_PM_WORDS = {"오후", "저녁", "밤"}
_SPAN = re.compile(
    r"(?:in\s+)?\+?([0-9]{1,3})\s*"
    r"(bd|business\s*days?|영업일|d|days?|일|w|weeks?|주|주일|h|hours?|시간|m|min|mins|minutes?|분)"
    r"\s*(?:후|뒤|later|from\s+now)?"
)
_KO_BUSINESS = re.compile(r"영업일\s*([0-9]{1,3})\s*일?\s*(?:후|뒤)?")
_UNIT_MINUTES = {"h": 60, "hour": 60, "hours": 60, "시간": 60, "m": 1, "min": 1, "mins": 1}
_UNIT_MINUTES.update({"minute": 1, "minutes": 1, "분": 1})
MAX_SPAN_DAYS = 3650


def parse_time(text: str) -> time | None:
    """``10:00``, ``3pm``, ``오전 10시``, ``오후 3시 30분``, ``10시 반``, ``noon``; None if not a time."""
    value = " ".join(plain(text).lower().split())
    if value in _NOON:
        return _NOON[value]
    hour = minute = None
    if match := _HM.fullmatch(value):
        hour, minute = int(match[1]), int(match[2])
    elif match := _AMPM.fullmatch(value):
        hour, minute = int(match[1]), int(match[2] or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match[3].startswith("p") else 0)
    elif match := _KO_TIME.fullmatch(value):
        hour = int(match[2])
        minute = 30 if match[4] else int(match[3] or 0)
        if match[1] in _PM_WORDS and hour < 12:
            hour += 12
        elif match[1] in ("오전", "새벽") and hour == 12:
            hour = 0
    if hour is None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _span(value: str) -> Due | None:
    match = _SPAN.fullmatch(value)
    if match is None:
        if match := _KO_BUSINESS.fullmatch(value):
            return Due(business_days=_count(match[1]))
        return None
    count, unit = int(match[1]), match[2].replace(" ", "")
    if unit in ("bd", "영업일") or unit.startswith("business"):
        return Due(business_days=_count(count))
    if unit in ("d", "day", "days", "일"):
        return Due(days=_count(count))
    if unit in ("w", "week", "weeks", "주", "주일"):
        return Due(days=_count(count * 7))
    minutes = count * _UNIT_MINUTES[unit]
    return Due(minutes=minutes) if 0 < minutes <= MAX_SPAN_DAYS * 1440 else None


def _count(value: int | str) -> int:
    count = int(value)
    if not 0 < count <= MAX_SPAN_DAYS:
        raise ValueError("span out of range")
    return count


def parse_due(text: str, *, today: date) -> Due:
    """A due phrase (module docstring) or :class:`InvalidInput` ``grammar.bad_due``."""
    value = " ".join(plain(text).lower().split())
    due = _read(value, today) if value else None
    if due is None:
        raise InvalidInput("grammar.bad_due", value=shown(text))
    return Due(due.day, due.at, due.days, due.business_days, due.minutes, written=text.strip())


def _read(value: str, today: date) -> Due | None:
    try:
        if (span := _span(value)) is not None:
            return span
    except ValueError:
        return None
    at = parse_time(value)
    if at is not None:
        return Due(at=at)
    words = value.split(" ")
    # A day, then a time: "tomorrow 10:00", "내일 오후 3시", "12월 31일 오후 3시 30분".
    for cut in range(len(words) - 1, 0, -1):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        at = parse_time(tail)
        if at is None:
            continue
        day = _day(head, today)
        if day is not None:
            return Due(day=day, at=at)
    day = _day(value, today)
    return Due(day=day) if day is not None else None


def _day(value: str, today: date) -> date | None:
    try:
        return parse_date(value.removesuffix("까지"), today=today)
    except InvalidInput:
        return None


def leading_due(words: list[str], *, today: date) -> tuple[Due | None, list[str]]:
    """The longest run of leading words that reads as a due time, and the words after it:
    ``내일 10시 CFO 콜`` -> (tomorrow 10:00, [CFO, 콜]); (None, words) when none does."""
    for cut in range(min(len(words), 6), 0, -1):
        head = " ".join(words[:cut])
        due = _read(" ".join(plain(head).lower().split()), today)
        if due is not None and not _is_bare_number(head):
            written = head.strip()
            return Due(due.day, due.at, due.days, due.business_days, due.minutes, written), words[
                cut:
            ]
    return None, words


def _is_bare_number(text: str) -> bool:
    """``3`` alone is not a due time in free text (``call 3 people``)."""
    return text.strip().isdigit()
