"""When a held alert DM goes out (domain.alert_times): hourly, daily, quiet hours across
midnight, the member's own timezone and its DST days. Pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from domain.alert_times import in_quiet, period, release_at

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = (time(20), time(8))


def local(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


def at(tz, *args, batch="off", quiet=None, daily=time(9)):
    return release_at(local(tz, *args), tz=tz, batch=batch, quiet=quiet, daily_at=daily)


def test_without_batching_or_quiet_hours_an_alert_goes_at_once():
    assert at(SEOUL, 2026, 12, 3, 10, 15) is None
    assert at(SEOUL, 2026, 12, 3, 10, 15, quiet=NIGHT) is None


def test_hourly_goes_at_the_end_of_the_local_hour_and_daily_at_the_next_digest_time():
    assert at(SEOUL, 2026, 12, 3, 10, 15, batch="hourly") == local(SEOUL, 2026, 12, 3, 11)
    assert at(SEOUL, 2026, 12, 3, 10, 15, batch="daily") == local(SEOUL, 2026, 12, 4, 9)
    assert at(SEOUL, 2026, 12, 3, 8, 59, batch="daily") == local(SEOUL, 2026, 12, 3, 9)


def test_quiet_hours_across_midnight_hold_until_their_end():
    assert at(SEOUL, 2026, 12, 3, 23, 0, quiet=NIGHT) == local(SEOUL, 2026, 12, 4, 8)
    assert at(SEOUL, 2026, 12, 4, 1, 0, quiet=NIGHT) == local(SEOUL, 2026, 12, 4, 8)
    assert at(SEOUL, 2026, 12, 3, 19, 59, quiet=NIGHT) is None
    assert in_quiet(local(SEOUL, 2026, 12, 3, 20), SEOUL, NIGHT)
    assert not in_quiet(local(SEOUL, 2026, 12, 3, 8), SEOUL, NIGHT)
    assert not in_quiet(local(SEOUL, 2026, 12, 3, 3), SEOUL, (time(8), time(8)))  # no window


def test_a_night_of_hourly_batches_is_one_morning_release():
    first = at(SEOUL, 2026, 12, 3, 20, 15, batch="hourly", quiet=NIGHT)
    last = at(SEOUL, 2026, 12, 4, 6, 40, batch="hourly", quiet=NIGHT)
    assert first == last == local(SEOUL, 2026, 12, 4, 8)
    assert period(first) == "r20261203T2300Z"


def test_the_members_own_timezone_and_its_dst_days():
    # New York falls back on 2026-11-01: 01:30 happens twice; the hour still ends an hour on.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    hourly = {"tz": NEW_YORK, "batch": "hourly", "quiet": None, "daily_at": time(9)}
    assert release_at(first, **hourly) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert release_at(second, **hourly) == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    # Quiet until 08:00 on the spring-forward day is 08:00 EDT.
    spring = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    quiet = release_at(spring, tz=NEW_YORK, batch="off", quiet=NIGHT, daily_at=time(9))
    assert quiet == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
