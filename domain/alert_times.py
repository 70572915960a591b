"""When a held alert DM goes out: pure functions of the instant, the member's timezone, their
batching and their quiet hours. No database.

- ``batch`` ``hourly``: at the end of the local hour the alert came in (10:15 → 11:00).
- ``batch`` ``daily``: at the next local ``daily_at`` (the workspace's digest time).
- quiet hours ``(20:00, 08:00)``: a DM due inside them waits for their end (a window may
  cross midnight; start == end is no window).
- ``None``: send now (no batching, not quiet).

The release instant names the digest: every alert released at the same instant for the same
member goes out in one DM (scheduler.jobs ``alert-digests``), so a night of hourly batches
held by quiet hours is one morning DM, not twelve.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.due_times import local

BATCHES = ("off", "hourly", "daily")


def parse_hhmm(value: str | None) -> time | None:
    """``"20:00"`` → 20:00; anything else None."""
    try:
        hours, minutes = (int(part) for part in (value or "").strip().split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        return None


def in_quiet(at: datetime, tz: ZoneInfo, quiet: tuple[time, time] | None) -> bool:
    if quiet is None or quiet[0] == quiet[1]:
        return False
    now = at.astimezone(tz).time()
    start, end = quiet
    return start <= now < end if start < end else (now >= start or now < end)


def _next_wall(at: datetime, when: time, tz: ZoneInfo) -> datetime:
    """The first instant after ``at`` the local clock shows ``when``."""
    day = at.astimezone(tz).date()
    for _ in range(3):
        candidate = local(day, when, tz)
        if candidate > at:
            return candidate
        day += timedelta(days=1)
    return local(day, when, tz)


def release_at(
    at: datetime,
    *,
    tz: ZoneInfo,
    batch: str,
    quiet: tuple[time, time] | None,
    daily_at: time,
) -> datetime | None:
    """When an alert due at ``at`` goes out, or None for at once (module docstring)."""
    release = at.astimezone(UTC)
    if batch == "hourly":
        here = at.astimezone(tz)  # back to the local hour's start (the right one of a DST
        # fall-back's two 01:00s), then an hour on
        into = timedelta(minutes=here.minute, seconds=here.second, microseconds=here.microsecond)
        release = (at - into).astimezone(UTC) + timedelta(hours=1)
    elif batch == "daily":
        release = _next_wall(at, daily_at, tz)
    if in_quiet(release, tz, quiet):
        release = _next_wall(release, quiet[1], tz)
    return None if release == at else release


def period(release: datetime) -> str:
    """The digest a release instant names: ``r20261203T2300Z``."""
    return release.astimezone(UTC).strftime("r%Y%m%dT%H%MZ")
