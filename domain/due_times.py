"""A written due time (:class:`Due`, read by :mod:`commands.when`) made an aware instant, in a timezone.

Pure functions. Calendar spans (``+2d``) keep the wall-clock time across a DST change;
minute spans (``+3h``) are exact. A wall-clock time that does not exist (a spring-forward
gap) moves forward by the gap; one that happens twice (fall-back) is the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.stall import is_business_day

DEFAULT_TIME = time(9, 0)  # a day without a time of day


@dataclass(frozen=True)
class Due:
    """``day`` and/or ``at`` (wall clock), or a span from now (``days`` in calendar days,
    ``business_days``, ``minutes``); ``written`` is the text, to quote back."""

    day: date | None = None
    at: time | None = None
    days: int = 0
    business_days: int = 0
    minutes: int = 0
    written: str = ""

    @property
    def relative(self) -> bool:
        return bool(self.days or self.business_days or self.minutes)


def local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at wall-clock ``at`` in ``tz``, as an aware UTC instant. ``fold=0`` reads a
    time in a spring-forward gap with the offset before it (02:30 becomes 03:30) and a
    fall-back time that happens twice as its first occurrence (PEP 495)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def add_business_days(day: date, count: int, country: str) -> date:
    """The ``count``-th business day after ``day`` (weekends and ``country``'s holidays skipped)."""
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day, country):
            count -= 1
    return day


def resolve(due: Due, *, now: datetime, tz: ZoneInfo, country: str = "KR") -> datetime:
    """The instant ``due`` means for someone in ``tz`` at ``now``."""
    here = now.astimezone(tz)
    if due.minutes:
        return now + timedelta(minutes=due.minutes)
    if due.days or due.business_days:
        day = here.date() + timedelta(days=due.days)
        if due.business_days:
            day = add_business_days(here.date(), due.business_days, country)
        at = due.at or here.time().replace(second=0, microsecond=0)
        return local(day, at, tz)
    if due.day is None:  # a time alone: the next time the clock shows it
        at = due.at or DEFAULT_TIME
        instant = local(here.date(), at, tz)
        return instant if instant > now else local(here.date() + timedelta(days=1), at, tz)
    return local(due.day, due.at or DEFAULT_TIME, tz)


def snoozed(due: Due, *, now: datetime, current: datetime, tz: ZoneInfo, country: str) -> datetime:
    """A snooze's new due time: a span counts from the later of now and the current due time
    (``+2d`` on a task due tomorrow moves it two days later); a day or time is as written."""
    if due.relative:
        return resolve(due, now=max(now, current), tz=tz, country=country)
    return resolve(due, now=now, tz=tz, country=country)
