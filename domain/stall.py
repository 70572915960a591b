"""The stall clock (docs/concepts.md "Stalled deal"), as plain functions.

A deal is *stalled* when the time in its current stage exceeds the stage's stall threshold.

Counting rules:

- **Calendar days** (the default): whole days elapsed, ``(now - stage_entered_at) // 1 day``.
  A deal is stalled when ``days_in_stage > threshold``: on the threshold day itself (exactly
  7 whole days in a 7-day stage) it is *not* stalled yet; it is on the next whole day.
- **Business days** (workspace setting ``stall_business_days``): the days *after* the local
  date the deal entered the stage, up to and including today's local date (both in the
  workspace's timezone), that are weekdays and not public holidays of the workspace's
  country (the ``holidays`` package, default KR). Entered on a Monday, a deal has 5 business
  days on the next Monday; a Saturday, a Sunday or 추석 adds nothing.
- **Snooze**: a deal snoozed until date ``D`` is not stalled while the local date is before
  ``D``; from ``D`` on it is counted as usual.

A stall *episode* is identified by the stage entry (``stage_entered_at``): a deal moved and
moved back gets a new ``stage_entered_at`` and hence a new episode. A snooze that ends within
the stage also starts a new episode (``<entry>~<snooze date>``), so the warning comes back
once when the snooze runs out, which is what "remind me in 3 days" means; a snooze date on or
before the entry date is left over from an earlier stage and does not change the episode.

:func:`stall_status` is the rule. Queries use its exact SQL spelling: :func:`stall_cutoff`
(one instant per stage threshold) inside :func:`stalled_condition` (with the snooze).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Deal, Workspace

log = logging.getLogger(__name__)

DEFAULT_COUNTRY = "KR"


@dataclass(frozen=True)
class StallStatus:
    days_in_stage: int
    threshold: int | None  # None: the stage has no stall threshold
    stalled: bool
    days_over: int  # days_in_stage - threshold when stalled, else 0
    episode: str  # identifies the stall episode; stable while the deal stays put
    snoozed: bool = False  # would be stalled, but snoozed until a later date
    business_days: bool = False  # which unit days_in_stage counts


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


@cache
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country.upper(), years=year))
    except NotImplementedError:
        log.warning("no public holidays known for country %r; counting weekends only", country)
        return frozenset()


def is_business_day(day: date, country: str = DEFAULT_COUNTRY) -> bool:
    """A weekday that is not a public holiday of ``country``."""
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def _weekdays_through(day: date) -> int:
    """Weekdays from a fixed Monday up to and including ``day`` (a counting origin)."""
    ordinal = day.toordinal()  # date(1, 1, 1) is a Monday: ordinal 1
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest + 1, 5)


def business_days_between(start: date, end: date, country: str = DEFAULT_COUNTRY) -> int:
    """Business days in ``(start, end]``: after ``start``, up to and including ``end``."""
    if end <= start:
        return 0
    count = _weekdays_through(end) - _weekdays_through(start)
    for year in range(start.year, end.year + 1):
        count -= sum(1 for h in _holidays(country, year) if start < h <= end and h.weekday() < 5)
    return count


def episode_key(stage_entered_at: datetime, snooze_date: date | None = None) -> str:
    """A compact, stable id for a stall episode (fits the outbox key)."""
    t = stage_entered_at.astimezone(UTC)  # strftime("%Y%m%dT%H%M%S.%fZ"), at a fifth the cost
    key = (
        f"{t.year:04d}{t.month:02d}{t.day:02d}T{t.hour:02d}{t.minute:02d}{t.second:02d}"
        f".{t.microsecond:06d}Z"
    )
    return f"{key}~{snooze_date.isoformat()}" if snooze_date else key


def episode_key_sql(stage_entered_at: Any, dialect: str) -> Any:
    """:func:`episode_key` of an episode without a snooze, in SQL over the column: the
    entry instant as ``YYYYMMDDTHHMMSS.ffffffZ`` in UTC. PostgreSQL formats the instant;
    SQLite keeps naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's format), whose
    pieces are cut out — a value stored in another shape spells a key no episode has,
    which asks again, never less (the stall warnings use it only to leave out episodes
    warned already)."""
    if dialect == "postgresql":
        utc = sa.func.timezone("UTC", stage_entered_at)
        return sa.func.to_char(utc, 'YYYYMMDD"T"HH24MISS.US"Z"')
    text = sa.cast(stage_entered_at, sa.String)
    piece = lambda start, length: sa.func.substr(text, start, length)  # noqa: E731
    return sa.func.printf(
        "%sT%s.%sZ",
        piece(1, 4).op("||")(piece(6, 2)).op("||")(piece(9, 2)),
        piece(12, 2).op("||")(piece(15, 2)).op("||")(piece(18, 2)),
        sa.case((sa.func.length(text) == 26, piece(21, 6)), else_=sa.literal("?")),
    )


def calendar_stalled_sql(entered: Any, stall_days: Any, now: datetime, dialect: str) -> Any:
    """On the calendar-day clock, ``stall_status(...)`` over the threshold at ``now`` (snooze
    aside), in SQL over columns: entered at least ``stall_days + 1`` whole days (24 hours
    each, real time) before ``now`` — :func:`stall_cutoff`'s rule with the threshold a
    column. PostgreSQL only (None elsewhere: SQLite's date functions keep milliseconds)."""
    if dialect != "postgresql":
        return None
    hours = sa.func.make_interval(0, 0, 0, 0, (stall_days + 1) * 24)
    return entered <= sa.literal(now.astimezone(UTC), Deal.stage_entered_at.type) - hours


def stall_status(
    *,
    stage_entered_at: datetime,
    stall_days: int | None,
    snoozed_until: date | None,
    now: datetime,
    tz: str | ZoneInfo,
    business_days: bool = False,
    country: str = DEFAULT_COUNTRY,
) -> StallStatus:
    """Where a deal stands on the stall clock at ``now`` (see the module docstring)."""
    if stage_entered_at.tzinfo is None:
        raise ValueError("stall_status needs aware datetimes")
    clock = StallClock(now, tz, business_days=business_days, country=country)
    return clock.status(stage_entered_at, stall_days, snoozed_until)


class StallClock:
    """:func:`stall_status` of many deals at one ``now`` on one workspace's clock: the zone,
    today and ``now`` in UTC worked out once (the hourly warnings judge every stalled deal
    of every workspace)."""

    def __init__(
        self,
        now: datetime,
        tz: str | ZoneInfo,
        *,
        business_days: bool = False,
        country: str = DEFAULT_COUNTRY,
    ):
        if now.tzinfo is None:
            raise ValueError("stall_status needs aware datetimes")
        self.zone = _zone(tz)
        self.today = now.astimezone(self.zone).date()
        self.now_utc = now.astimezone(UTC)
        self.business_days = business_days
        self.country = country

    def status(
        self, stage_entered_at: datetime, stall_days: int | None, snoozed_until: date | None
    ) -> StallStatus:
        if stage_entered_at.tzinfo is None:
            raise ValueError("stall_status needs aware datetimes")
        business_days, today = self.business_days, self.today
        entered_day = stage_entered_at.astimezone(self.zone).date()
        entered = stage_entered_at.astimezone(UTC)  # itself when read from a UTC column
        if business_days:
            days = business_days_between(entered_day, today, self.country)
        else:
            days = max((self.now_utc - entered) // _DAY, 0)  # real time, not wall
        snooze = snoozed_until if snoozed_until and snoozed_until > entered_day else None
        episode = episode_key(entered, snooze)
        if stall_days is None:
            return StallStatus(days, None, False, 0, episode, business_days=business_days)
        over_threshold = days > stall_days
        snoozed = over_threshold and snooze is not None and today < snooze
        stalled = over_threshold and not snoozed
        return StallStatus(
            days_in_stage=days,
            threshold=stall_days,
            stalled=stalled,
            days_over=days - stall_days if stalled else 0,
            episode=episode,
            snoozed=snoozed,
            business_days=business_days,
        )


_DAY = timedelta(days=1)


@cache
def _last_stalled_day(today: date, stall_days: int, country: str) -> date:
    """The latest local entry date whose business-day count at ``today`` exceeds the threshold.

    The count only grows as the entry date moves back, so every earlier date is over it too.
    """
    day = today - timedelta(days=stall_days)
    while business_days_between(day, today, country) <= stall_days:
        day -= timedelta(days=1)
    return day


def stall_cutoff(
    now: datetime,
    stall_days: int,
    *,
    tz: str | ZoneInfo = "UTC",
    business_days: bool = False,
    country: str = DEFAULT_COUNTRY,
) -> datetime:
    """The stall rule for SQL: at ``now``, a deal in a stage with threshold ``stall_days`` is over
    the threshold exactly when ``stage_entered_at < cutoff`` — the same answer as
    :func:`stall_status` (snooze aside; :func:`stalled_condition` adds it).

    Calendar days: over once ``stall_days + 1`` whole days have passed, so the cutoff is one
    microsecond (the databases' resolution) after ``now - (stall_days + 1) days``. Business
    days: the local midnight after the latest entry date whose business-day count (weekends and
    ``country``'s holidays skipped) exceeds the threshold, as an instant: a local midnight
    skipped by DST is the first instant of that day, which is what the local date of an entry
    says too.
    """
    if now.tzinfo is None:
        raise ValueError("stall_cutoff needs an aware datetime")
    now = now.astimezone(UTC)
    if not business_days:
        return now - timedelta(days=stall_days + 1) + timedelta(microseconds=1)
    zone = _zone(tz)
    day = _last_stalled_day(now.astimezone(zone).date(), stall_days, country)
    midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return midnight.astimezone(UTC)


# ---------------------------------------------------------------- stalled since

# How far ``deal.stalled_since`` may lie before the first instant a deal can be stalled.
SINCE_MARGIN = timedelta(days=1)


def stalled_since(stage_entered_at: datetime, stall_days: int | None) -> datetime | None:
    """A lower bound of the instant a deal entered at ``stage_entered_at`` into a stage with
    threshold ``stall_days`` can first be stalled, on every clock: ``deal.stalled_since``.

    Calendar days stall it ``stall_days + 1`` days after the entry. Business days count only
    the local dates after the entry date, so at the earliest at the local midnight starting
    ``stall_days + 1`` dates later: more than ``stall_days`` days after the entry, less a DST
    hour. One day earlier than the threshold is below both, whatever the workspace's
    timezone, holidays or clock setting, which may change without touching any deal. The
    stall queries read the deals past this bound (an index range: the stalled ones and
    those due within about two days) and decide exactly with :func:`stalled_condition`.
    None: the stage has no threshold (such a deal is never stalled).
    """
    if stall_days is None:
        return None
    return stage_entered_at + timedelta(days=stall_days) - SINCE_MARGIN


def stalled_since_sql(entered: Any, days: Any, dialect: str) -> Any:
    """:func:`stalled_since` in SQL over columns (a stage's threshold changed: every deal in
    it again), exact to the microsecond on both databases. SQLite keeps naive UTC text
    ``YYYY-MM-DD HH:MM:SS.ffffff``: ``datetime()`` shifts the whole seconds, the fraction is
    copied."""
    if dialect == "postgresql":
        return entered + sa.func.make_interval(0, 0, 0, days - SINCE_MARGIN.days)
    shifted = sa.func.datetime(entered, sa.func.printf("%+d days", days - SINCE_MARGIN.days))
    return sa.type_coerce(shifted.op("||")(sa.func.substr(entered, 20)), Deal.stalled_since.type)


# ---------------------------------------------------------------- the same rule in SQL


def stalled_condition(
    stages: Iterable[tuple[int, int | None]],
    *,
    workspace: Workspace,
    now: datetime,
    near: bool = True,
) -> ColumnElement[bool]:
    """``stall_status(...).stalled`` as a SQL condition on ``deal``, for deals in ``stages``
    (``(stage id, stall days)`` pairs; stages without a threshold never match): entered before
    the stage's :func:`stall_cutoff` on the workspace's clock, and not snoozed past today.

    Every query that asks "stalled?" uses it (deal lists, the board, the scheduler's stall
    jobs); the caller adds the open-deal filter. Exact, so no Python re-check is needed; the
    tests hold it against :func:`stall_status` entry time by entry time. ``near=False``: see
    :func:`stalled_clause`.
    """
    by_days = _by_threshold(stages)
    values = stall_values(by_days, workspace=workspace, now=now)
    bind = lambda name, col: sa.bindparam(name, values[name], col.type, True)  # noqa: E731
    return _stalled(by_days, bind, near=near)


def stalled_clause(
    stages: Iterable[tuple[int, int | None]], *, near: bool = True
) -> tuple[ColumnElement[bool], tuple[int, ...]]:
    """:func:`stalled_condition` with its instants as bound parameters, and the thresholds it
    names: a statement built once (per workspace configuration) is executed with
    ``stall_values(thresholds, workspace=…, now=…)``, so SQLAlchemy neither rebuilds nor
    recompiles it per request. ``near=False`` leaves out the ``stalled_since`` bound (implied
    by the rest): for a query narrowed by a better index (one owner's deals), where SQLite
    would otherwise walk every stalled deal of the workspace."""
    by_days = _by_threshold(stages)
    # The stage ids are part of the statement, written out: no IN list expanded per execution.
    inline = {days: [sa.literal_column(str(int(i))) for i in ids] for days, ids in by_days.items()}
    return _stalled(inline, lambda name, col: sa.bindparam(name), near=near), tuple(by_days)


def stall_values(thresholds, *, workspace: Workspace, now: datetime) -> dict[str, Any]:
    """The parameters of :func:`stalled_clause` at ``now``: a cutoff per threshold, the
    workspace's local date (snoozes) and the instant (``stalled_since``)."""
    zone = _zone(workspace.timezone)
    values: dict[str, Any] = {
        f"stall_cutoff_{days}": stall_cutoff(
            now,
            days,
            tz=zone,
            business_days=workspace.stall_business_days,
            country=workspace.holiday_country,
        )
        for days in thresholds
    }
    values["stall_today"] = now.astimezone(zone).date()
    values["stall_now"] = now.astimezone(UTC)
    return values


def _by_threshold(stages: Iterable[tuple[int, int | None]]) -> dict[int, list[int]]:
    """``{stall days: stage ids}``, thresholds in order. One clause per threshold, not per
    stage: stages with the same stall days share a cutoff, and a workspace has a few
    thresholds but dozens of stages (building and keying a clause per stage was most of the
    CPU of ``/deal list``)."""
    by_days: dict[int, list[int]] = {}
    for stage_id, days in stages:
        if days is not None and days >= 0:
            by_days.setdefault(days, []).append(stage_id)
    return dict(sorted(by_days.items()))


def _stalled(by_days: dict[int, list], bind, *, near: bool = True) -> ColumnElement[bool]:
    """The condition on stage ids (or SQL literals of them) by threshold, its values from
    ``bind(name, column)`` (see :func:`stall_values`)."""
    over = [
        sa.and_(
            Deal.stage_id.in_(ids) if len(ids) > 1 else Deal.stage_id == ids[0],
            Deal.stage_entered_at < bind(f"stall_cutoff_{days}", Deal.stage_entered_at),
        )
        for days, ids in by_days.items()
    ]
    if not over:
        return sa.false()
    snoozed = Deal.snoozed_until
    not_snoozed = sa.or_(snoozed.is_(None), snoozed <= bind("stall_today", snoozed))
    # Implied by the rest (stalled_since is a lower bound): the index range that keeps the
    # query to deals near or past their threshold (ix_deal_stalled).
    if not near:
        return sa.and_(sa.or_(*over), not_snoozed)
    since = Deal.stalled_since <= bind("stall_now", Deal.stalled_since)
    return sa.and_(since, sa.or_(*over), not_snoozed)
