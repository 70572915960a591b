"""What is due for one workspace at time ``at``: pure functions over plain rows.

The rows are the domain's (:class:`domain.deal_reads.DealRow`, :class:`domain.tasks.TaskRow`),
read by :mod:`domain.deal_reads` and :mod:`domain.tasks`.

No database, no Slack, no scheduler. Every function takes the instant ``at`` (aware) and the
workspace's timezone, works on the *local* date and time there, and names the local period a
post belongs to. The outbox key carries that period, so a run repeated at any instant of the
same local period (a restart, a catch-up, a second process, the repeated 01:30 of a DST
fall-back night) finds the key taken and posts nothing new, and a local time that does not
exist on a spring-forward day (02:30 in New York on 2026-03-08) is simply "passed" at 03:00.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.deal_reads import DealRow, RenewalDue, Stalled
from domain.money import Conversion
from domain.stall import StallClock
from domain.tasks import TaskRow
from storage.models import Workspace

DEFAULT_DIGEST_TIME = time(9, 0)
DEFAULT_RENEWAL_OFFSETS = (90, 60, 30, 7)
WEEKLY_WEEKDAY = 0  # Monday
TASK_LOOKBACK = timedelta(days=7)  # overdue tasks older than this are not reminded late


# ---------------------------------------------------------------- local time and periods


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the scheduler works with aware datetimes only")
    return at


def local_now(at: datetime, tz: str | ZoneInfo) -> datetime:
    return _aware(at).astimezone(zone(tz))


def local_today(at: datetime, tz: str | ZoneInfo) -> date:
    return local_now(at, tz).date()


def daily_period(at: datetime, tz: str | ZoneInfo) -> str:
    """The local date: ``2026-12-01``."""
    return local_today(at, tz).isoformat()


def weekly_period(at: datetime, tz: str | ZoneInfo) -> str:
    """The local ISO week: ``2026-W49``."""
    year, week, _ = local_today(at, tz).isocalendar()
    return f"{year}-W{week:02d}"


def parse_digest_time(value: str | None) -> time:
    """``"HH:MM"``; anything unreadable is the default 09:00 rather than no digest at all."""
    try:
        hours, minutes = (int(part) for part in (value or "").strip().split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        return DEFAULT_DIGEST_TIME


def parse_offsets(value: str | None) -> tuple[int, ...]:
    """``"90,60,30,7"`` → ``(90, 60, 30, 7)``: positive, unique, largest first."""
    offsets: set[int] = set()
    for part in (value or "").replace(" ", "").split(","):
        if part.isdigit() and 0 < int(part) <= 3660:
            offsets.add(int(part))
    return tuple(sorted(offsets, reverse=True)) or DEFAULT_RENEWAL_OFFSETS


def digest_due(
    at: datetime, tz: str | ZoneInfo, digest_time: str | time | None, *, force: bool = False
) -> str | None:
    """The daily period whose digest is due at ``at``, or ``None`` before the digest time.

    Due from the local digest time until local midnight, so a run that was missed (the
    process was down at 09:00) catches up later the same day; the key makes the extra
    ticks harmless. ``force`` (``jobs run``) skips the time-of-day check.
    """
    now = local_now(at, tz)
    when = digest_time if isinstance(digest_time, time) else parse_digest_time(digest_time)
    if force or now.time().replace(tzinfo=None) >= when:
        return now.date().isoformat()
    return None


def weekly_due(
    at: datetime,
    tz: str | ZoneInfo,
    digest_time: str | time | None,
    *,
    weekday: int = WEEKLY_WEEKDAY,
    force: bool = False,
) -> str | None:
    """The ISO week whose summary is due at ``at``: from Monday's digest time to Sunday."""
    now = local_now(at, tz)
    when = digest_time if isinstance(digest_time, time) else parse_digest_time(digest_time)
    passed = now.weekday() > weekday or (
        now.weekday() == weekday and now.time().replace(tzinfo=None) >= when
    )
    return weekly_period(at, tz) if (force or passed) else None


def week_window(at: datetime, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """The week a summary sent at ``at`` reports on: the previous local Monday–Sunday.

    Returned as aware instants ``[start, end)`` (local midnights, DST-correct).
    """
    today = local_today(at, tz)
    monday = today - timedelta(days=today.weekday())
    z = zone(tz)
    start = datetime.combine(monday - timedelta(days=7), time(0), tzinfo=z)
    end = datetime.combine(monday, time(0), tzinfo=z)
    return start, end


def next_daily(at: datetime, tz: str | ZoneInfo, digest_time: str | time | None) -> datetime:
    """The next instant (after ``at``) the local clock shows the digest time."""
    now = local_now(at, tz)
    when = digest_time if isinstance(digest_time, time) else parse_digest_time(digest_time)
    day = now.date()
    for _ in range(3):
        candidate = _wall(day, when, now.tzinfo)
        if candidate > now:
            return candidate
        day += timedelta(days=1)
    return _wall(day, when, now.tzinfo)


def next_weekly(
    at: datetime,
    tz: str | ZoneInfo,
    digest_time: str | time | None,
    *,
    weekday: int = WEEKLY_WEEKDAY,
) -> datetime:
    now = local_now(at, tz)
    when = digest_time if isinstance(digest_time, time) else parse_digest_time(digest_time)
    day = now.date() + timedelta(days=(weekday - now.weekday()) % 7)
    candidate = _wall(day, when, now.tzinfo)
    return candidate if candidate > now else _wall(day + timedelta(days=7), when, now.tzinfo)


def _wall(day: date, when: time, tz) -> datetime:
    """A local wall-clock time as an instant.

    A time skipped by DST (02:30 on a spring-forward night) becomes the end of the gap
    (03:00): the first instant the local clock shows a time at or past it, which is exactly
    when :func:`digest_due` starts saying "due". A repeated time (fall-back) is its first
    occurrence.
    """
    naive = datetime.combine(day, when)
    candidate = naive.replace(tzinfo=tz)
    roundtrip = candidate.astimezone(UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) == naive:
        return candidate
    # In the gap: the transition lies between the two readings of the missing time.
    lo, hi = sorted(
        int(naive.replace(tzinfo=tz, fold=f).timestamp()) for f in (0, 1)
    )  # whole seconds; the local clock is < naive at lo and >= naive at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, tz)


# ---------------------------------------------------------------- what is due


def stalled(
    deals: Iterable[DealRow],
    *,
    at: datetime,
    tz: str | ZoneInfo,
    business_days: bool = False,
    country: str = "KR",
) -> list[Stalled]:
    """Stalled deals at ``at``, most overdue first (each with its episode)."""
    out = []
    status_of = StallClock(at, tz, business_days=business_days, country=country).status
    for deal in deals:
        status = status_of(deal.stage_entered_at, deal.stall_days, deal.snoozed_until)
        if status.stalled:
            out.append(Stalled(deal, status))
    out.sort(key=lambda s: (-s.status.days_over, -s.deal.amount, s.deal.number))
    return out


def stalled_on(workspace: Workspace, deals: Iterable[DealRow], at: datetime) -> list[Stalled]:
    """:func:`stalled` on ``workspace``'s stall clock (its timezone, business days, holidays)."""
    return stalled(
        deals,
        at=at,
        tz=workspace.timezone,
        business_days=workspace.stall_business_days,
        country=workspace.holiday_country,
    )


def stall_warnings_due(
    deals: Iterable[DealRow],
    *,
    at: datetime,
    tz: str | ZoneInfo,
    business_days: bool = False,
    country: str = "KR",
) -> list[Stalled]:
    """Every stalled deal, with its episode. Whether this episode was already warned about
    is the outbox key's business (``stall_warning_period``), not this function's."""
    return stalled(deals, at=at, tz=tz, business_days=business_days, country=country)


def stall_warning_period(item: Stalled) -> str:
    """The outbox period of a stall warning: one per deal and episode."""
    return f"d{item.deal.id}/{item.status.episode}"


def group_by_owner(
    items: Sequence[Stalled], conversion: Conversion | None = None
) -> list[tuple[str | None, list[Stalled]]]:
    """Owners with the most overdue amount first; deals without an owner last. Amounts are
    compared in the workspace currency (``conversion``; without it, amounts in another
    currency than the first deal's count as nothing): never $ against ₩ as plain numbers."""
    groups: dict[str | None, list[Stalled]] = {}
    for item in items:
        groups.setdefault(item.deal.owner_slack_id, []).append(item)
    if conversion is None:
        conversion = Conversion(items[0].deal.currency if items else "KRW")

    def amount(owned: list[Stalled]) -> Decimal:
        values = (conversion.to_base(i.deal.amount, i.deal.currency) for i in owned)
        return sum((v for v in values if v is not None), Decimal(0))

    return sorted(groups.items(), key=lambda kv: (kv[0] is None, -amount(kv[1]), kv[0] or ""))


def renewals_due(
    deals: Iterable[DealRow], *, at: datetime, tz: str | ZoneInfo, offsets: Sequence[int]
) -> list[RenewalDue]:
    """Renewal alerts due on the local date of ``at``.

    The alert for offset ``o`` is due on ``renewal_date − o``. A run that missed that day
    (the process was down) sends it on the next run, as long as no smaller offset has come
    due meanwhile and the renewal date has not passed: the due offset is the smallest
    configured offset ``≥ days_left``. The outbox key (deal, renewal date, offset) makes it
    once per offset; a changed renewal date (next year's) alerts again.
    """
    today = local_today(at, tz)
    ordered = sorted(set(offsets))
    out = []
    for deal in deals:
        if deal.renewal_date is None:
            continue
        days_left = (deal.renewal_date - today).days
        if days_left < 0:
            continue
        offset = next((o for o in ordered if o >= days_left), None)
        if offset is None:
            continue
        out.append(RenewalDue(deal, offset, days_left))
    out.sort(key=lambda r: (r.days_left, r.deal.number))
    return out


def renewal_period(item: RenewalDue) -> str:
    return f"d{item.deal.id}/{item.deal.renewal_date.isoformat()}/{item.offset}"


def tasks_due(
    tasks: Iterable[TaskRow], *, at: datetime, lookback: timedelta = TASK_LOOKBACK
) -> list[TaskRow]:
    """Open tasks whose due time has come (within ``lookback``, so a new install or a long
    outage does not fire months of stale reminders at once)."""
    _aware(at)
    return sorted(
        (t for t in tasks if at - lookback < t.due_at <= at),
        key=lambda t: (t.due_at, t.id),
    )


def task_period(task: TaskRow) -> str:
    """One reminder per task and due time: a task moved to a new due time reminds again."""
    return f"t{task.id}/{task.due_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


# ---------------------------------------------------------------- the tick's slots

HOURLY_JOBS = ("stall-warnings",)
QUARTER_HOUR_JOBS = ("task-reminders", "alert-digests")
DAILY_JOBS = ("stall-digest", "renewal-alerts", "lead-scores")
WEEKLY_JOBS = ("weekly-summary", "pipeline-coach")


def _floor(at: datetime, minutes: int) -> datetime:
    at = _aware(at).astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % minutes, second=0, microsecond=0)


def job_slot(
    job: str, at: datetime, tz: str | ZoneInfo, digest_time: str | time | None
) -> str | None:
    """The slot a job is due for at ``at`` (a tick runs each job once per slot), or ``None``.

    Hourly and quarter-hourly jobs count in UTC (every hour is an hour, DST or not); daily
    and weekly jobs use the local periods of :func:`digest_due` / :func:`weekly_due`.
    """
    if job in HOURLY_JOBS:
        return _floor(at, 60).strftime("%Y-%m-%dT%H")
    if job in QUARTER_HOUR_JOBS:
        return _floor(at, 15).strftime("%Y-%m-%dT%H:%M")
    if job in DAILY_JOBS:
        return digest_due(at, tz, digest_time)
    if job in WEEKLY_JOBS:
        return weekly_due(at, tz, digest_time)
    raise ValueError(f"unknown job {job!r}")


def next_run(
    job: str, at: datetime, tz: str | ZoneInfo, digest_time: str | time | None
) -> datetime:
    """When ``job`` next comes due after ``at``, in the workspace's local time."""
    z = zone(tz)
    if job in HOURLY_JOBS:
        return (_floor(at, 60) + timedelta(hours=1)).astimezone(z)
    if job in QUARTER_HOUR_JOBS:
        return (_floor(at, 15) + timedelta(minutes=15)).astimezone(z)
    if job in DAILY_JOBS:
        return next_daily(at, tz, digest_time)
    if job in WEEKLY_JOBS:
        return next_weekly(at, tz, digest_time)
    raise ValueError(f"unknown job {job!r}")
