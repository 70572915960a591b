"""When a cadence step is due: day N after the entry, at 09:00 local, business days honoured."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.cadences import add_business_days, step_due

SEOUL = "Asia/Seoul"


def seoul(y, m, d, h=9, minute=0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, h, minute, tzinfo=ZoneInfo(SEOUL))


# Monday 2026-11-02, 10:15 in Seoul.
ENTRY = seoul(2026, 11, 2, 10, 15)


@pytest.mark.parametrize(
    ("offset", "due"),
    [
        (0, seoul(2026, 11, 2, 10, 15)),  # day 0: the entry itself, it is past 09:00
        (1, seoul(2026, 11, 3)),
        (4, seoul(2026, 11, 6)),
        (5, seoul(2026, 11, 7)),  # calendar days: a Saturday is a day
        (14, seoul(2026, 11, 16)),
    ],
)
def test_calendar_days_count_every_day_at_nine_local(offset, due):
    assert step_due(ENTRY, offset, tz=SEOUL) == due


def test_day_zero_before_nine_is_due_at_nine():
    early = seoul(2026, 11, 2, 7, 0)
    assert step_due(early, 0, tz=SEOUL) == seoul(2026, 11, 2)


@pytest.mark.parametrize(
    ("offset", "due"),
    [
        (1, seoul(2026, 11, 3)),
        (4, seoul(2026, 11, 6)),  # Friday
        (5, seoul(2026, 11, 9)),  # the weekend skipped: Monday
        (10, seoul(2026, 11, 16)),
    ],
)
def test_business_days_skip_weekends(offset, due):
    assert step_due(ENTRY, offset, tz=SEOUL, business_days=True, country="KR") == due


def test_business_days_skip_public_holidays():
    # 2026-09-24..26 is 추석 (Thu-Sat) in Korea; entry on Wednesday the 23rd.
    entry = seoul(2026, 9, 23, 15, 0)
    assert step_due(entry, 1, tz=SEOUL, business_days=True, country="KR") == seoul(2026, 9, 28)
    assert step_due(entry, 1, tz=SEOUL, business_days=False) == seoul(2026, 9, 24)


def test_the_entry_date_is_the_workspace_local_date():
    # 16:00 UTC on Monday is already Tuesday 01:00 in Seoul: day 1 is Wednesday.
    entry = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    assert step_due(entry, 1, tz=SEOUL) == seoul(2026, 11, 4)


def test_due_across_a_dst_change_stays_at_nine_local():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    entry = datetime(2026, 10, 30, 12, 0, tzinfo=ny)  # Friday; DST ends Sunday Nov 1
    due = step_due(entry, 4, tz="America/New_York")
    assert due == datetime(2026, 11, 3, 9, 0, tzinfo=ny)
    assert due.astimezone(UTC).hour == 14  # EST: UTC-5 (it was UTC-4 at the entry)


def test_add_business_days_zero_is_the_day_itself_even_on_a_sunday():
    sunday = datetime(2026, 11, 8).date()
    assert add_business_days(sunday, 0, "KR") == sunday
    assert add_business_days(sunday, 1, "KR") == datetime(2026, 11, 9).date()


def test_naive_entry_is_refused():
    with pytest.raises(ValueError):
        step_due(datetime(2026, 11, 2, 10, 0), 1, tz=SEOUL)
