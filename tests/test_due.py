"""What is due, when: pure functions at their boundaries (DST, Feb 29, thresholds, slots)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.deal_reads import DealRow
from domain.tasks import TaskRow
from scheduler import due

NY = ZoneInfo("America/New_York")
SEOUL = ZoneInfo("Asia/Seoul")


def deal(number=1, *, entered, stall_days=7, renewal=None, owner="U1", amount="1000", **kw):
    return DealRow(
        id=number,
        number=number,
        title=f"Deal {number}",
        amount=Decimal(amount),
        currency="KRW",
        pipeline_id=1,
        pipeline_name="New business",
        stage_id=1,
        stage_name="Contact",
        probability=10,
        stall_days=stall_days,
        stage_entered_at=entered,
        owner_slack_id=owner,
        renewal_date=renewal,
        mrr=Decimal("100") if renewal else None,
        **kw,
    )


# ---------------------------------------------------------------- daily digest and DST


def test_the_digest_is_due_from_the_local_digest_time_until_midnight():
    assert due.digest_due(datetime(2026, 12, 1, 8, 59, tzinfo=SEOUL), "Asia/Seoul", "09:00") is None
    assert (
        due.digest_due(datetime(2026, 12, 1, 9, 0, tzinfo=SEOUL), "Asia/Seoul", "09:00")
        == "2026-12-01"
    )
    assert (
        due.digest_due(datetime(2026, 12, 1, 23, 59, tzinfo=SEOUL), "Asia/Seoul", None)
        == "2026-12-01"
    )


def test_the_local_date_decides_the_period_not_the_utc_date():
    at = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 09:30 in Seoul, 19:30 the day before in NY
    assert due.digest_due(at, "Asia/Seoul", "09:00") == "2026-12-01"
    assert due.digest_due(at, "America/New_York", "09:00") == "2026-11-30"


def test_spring_forward_a_digest_in_the_missing_hour_is_due_once_after_the_gap():
    # 2026-03-08: New York clocks jump from 02:00 to 03:00; 02:30 never happens.
    before = datetime(2026, 3, 8, 6, 59, tzinfo=UTC)  # 01:59 EST
    after = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert due.digest_due(before, NY, "02:30") is None
    assert due.digest_due(after, NY, "02:30") == "2026-03-08"
    assert due.next_daily(before, NY, "02:30") == after


def test_fall_back_the_repeated_hour_is_one_period_so_the_digest_is_not_doubled():
    # 2026-11-01: New York 01:30 happens twice (EDT, then EST); both say the same day.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert first.astimezone(NY).time() == second.astimezone(NY).time() == time(1, 30)
    assert due.digest_due(first, NY, "01:30") == due.digest_due(second, NY, "01:30") == "2026-11-01"
    assert due.job_slot("stall-digest", first, NY, "01:30") == due.job_slot(
        "stall-digest", second, NY, "01:30"
    )


def test_every_dst_day_in_new_york_has_exactly_one_digest_period():
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        start = datetime.combine(day, time(0), tzinfo=NY).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=NY).astimezone(UTC)
        periods = set()
        at = start
        while at < end:
            periods.add(due.digest_due(at, NY, "09:00"))
            at += timedelta(minutes=1)
        assert periods == {None, day.isoformat()}


def test_next_daily_is_always_the_wall_clock_time_the_next_time_it_comes():
    at = datetime(2026, 10, 31, 14, 0, tzinfo=UTC)  # Sat 10:00 EDT
    nxt = due.next_daily(at, NY, "09:00")
    assert nxt.astimezone(NY).replace(tzinfo=None) == datetime(2026, 11, 1, 9, 0)
    assert nxt == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # EST now: UTC-5


def test_an_unreadable_digest_time_falls_back_to_nine():
    assert due.parse_digest_time("nine") == time(9, 0)
    assert due.parse_digest_time("18:30") == time(18, 30)


# ---------------------------------------------------------------- weekly


def test_the_weekly_summary_is_due_from_monday_digest_time_for_the_whole_iso_week():
    sunday = datetime(2026, 11, 29, 23, 0, tzinfo=SEOUL)
    monday_early = datetime(2026, 11, 30, 8, 0, tzinfo=SEOUL)
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=SEOUL)
    assert due.weekly_due(sunday, SEOUL, "09:00") == "2026-W48"
    assert due.weekly_due(monday_early, SEOUL, "09:00") is None
    assert due.weekly_due(monday, SEOUL, "09:00") == "2026-W49"
    assert due.weekly_due(monday_early, SEOUL, "09:00", force=True) == "2026-W49"


def test_the_week_reported_is_the_previous_local_monday_to_sunday():
    start, end = due.week_window(datetime(2026, 11, 2, 14, 0, tzinfo=UTC), NY)  # Mon 09:00 EST
    assert start.astimezone(NY).replace(tzinfo=None) == datetime(2026, 10, 26, 0, 0)
    assert end.astimezone(NY).replace(tzinfo=None) == datetime(2026, 11, 2, 0, 0)
    # the week of the fall-back has 169 hours
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=7, hours=1)


# ---------------------------------------------------------------- stalled


def test_stalled_keeps_the_stalled_and_drops_the_fresh_most_overdue_first():
    now = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    old = deal(1, entered=now - timedelta(days=30))
    older = deal(2, entered=now - timedelta(days=40))
    fresh = deal(3, entered=now - timedelta(days=2))
    on_threshold = deal(4, entered=now - timedelta(days=7))
    items = due.stalled([old, older, fresh, on_threshold], at=now, tz=SEOUL)
    assert [i.deal.number for i in items] == [2, 1]


def test_a_warning_period_is_per_deal_and_episode():
    now = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    first = due.stalled([deal(1, entered=now - timedelta(days=30))], at=now, tz=SEOUL)[0]
    later = due.stalled(
        [deal(1, entered=now - timedelta(days=30))], at=now + timedelta(days=3), tz=SEOUL
    )[0]
    moved = due.stalled([deal(1, entered=now - timedelta(days=9))], at=now, tz=SEOUL)[0]
    assert due.stall_warning_period(first) == due.stall_warning_period(later)
    assert due.stall_warning_period(first) != due.stall_warning_period(moved)


def test_owners_with_the_most_stalled_money_come_first_no_owner_last():
    now = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    rows = [
        deal(1, entered=now - timedelta(days=30), owner="UA", amount="100"),
        deal(2, entered=now - timedelta(days=30), owner="UB", amount="900"),
        deal(3, entered=now - timedelta(days=30), owner=None, amount="5000"),
    ]
    groups = due.group_by_owner(due.stalled(rows, at=now, tz=SEOUL))
    assert [owner for owner, _ in groups] == ["UB", "UA", None]


# ---------------------------------------------------------------- renewals


def test_renewal_offsets_are_due_on_their_day_once_each():
    renew = date(2027, 3, 1)
    row = deal(1, entered=datetime(2026, 1, 1, tzinfo=UTC), renewal=renew)
    offsets = (90, 60, 30, 7)
    seen = {}
    day = renew - timedelta(days=120)
    while day <= renew + timedelta(days=3):
        at = datetime.combine(day, time(9), tzinfo=SEOUL)
        for item in due.renewals_due([row], at=at, tz=SEOUL, offsets=offsets):
            seen.setdefault(due.renewal_period(item), day)
        day += timedelta(days=1)
    assert seen == {f"d1/2027-03-01/{o}": renew - timedelta(days=o) for o in offsets}


def test_a_feb_29_renewal_alerts_on_the_right_days():
    leap = date(2028, 2, 29)
    row = deal(1, entered=datetime(2026, 1, 1, tzinfo=UTC), renewal=leap)
    at = datetime.combine(date(2028, 2, 22), time(9), tzinfo=SEOUL)  # 7 days before
    (item,) = due.renewals_due([row], at=at, tz=SEOUL, offsets=(90, 60, 30, 7))
    assert (item.offset, item.days_left) == (7, 7)
    at = datetime.combine(date(2027, 12, 1), time(9), tzinfo=SEOUL)  # 90 days before
    (item,) = due.renewals_due([row], at=at, tz=SEOUL, offsets=(90, 60, 30, 7))
    assert (item.offset, item.days_left) == (90, 90)


def test_a_renewal_in_the_past_or_beyond_the_largest_offset_is_not_due():
    row = deal(1, entered=datetime(2026, 1, 1, tzinfo=UTC), renewal=date(2026, 12, 1))
    assert (
        due.renewals_due([row], at=datetime(2026, 12, 2, 9, tzinfo=SEOUL), tz=SEOUL, offsets=(7,))
        == []
    )
    assert (
        due.renewals_due([row], at=datetime(2026, 11, 1, 9, tzinfo=SEOUL), tz=SEOUL, offsets=(7,))
        == []
    )


def test_offsets_are_parsed_forgivingly():
    assert due.parse_offsets("90, 60,30,7") == (90, 60, 30, 7)
    assert due.parse_offsets("7,7,x,-3,30") == (30, 7)
    assert due.parse_offsets("") == due.DEFAULT_RENEWAL_OFFSETS


# ---------------------------------------------------------------- tasks and slots


def test_tasks_come_due_once_their_time_passed_within_the_lookback():
    now = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

    def task(i, due_at):
        return TaskRow(id=i, text=f"call {i}", due_at=due_at, owner_slack_id="U1")

    rows = [
        task(1, now - timedelta(minutes=5)),
        task(2, now + timedelta(minutes=5)),
        task(3, now - timedelta(days=30)),
    ]
    assert [t.id for t in due.tasks_due(rows, at=now)] == [1]


def test_job_slots_hourly_quarter_hourly_daily_weekly():
    at = datetime(2026, 11, 30, 0, 44, tzinfo=UTC)  # Monday 09:44 in Seoul
    assert due.job_slot("stall-warnings", at, SEOUL, "09:00") == "2026-11-30T00"
    assert due.job_slot("task-reminders", at, SEOUL, "09:00") == "2026-11-30T00:30"
    assert due.job_slot("stall-digest", at, SEOUL, "09:00") == "2026-11-30"
    assert due.job_slot("weekly-summary", at, SEOUL, "09:00") == "2026-W49"
    assert due.job_slot("stall-digest", at, SEOUL, "10:00") is None
    with pytest.raises(ValueError):
        due.job_slot("nope", at, SEOUL, "09:00")


def test_next_runs_are_in_the_future_and_local():
    at = datetime(2026, 11, 30, 0, 44, tzinfo=UTC)
    for job in (
        "stall-warnings",
        "task-reminders",
        "stall-digest",
        "renewal-alerts",
        "weekly-summary",
    ):
        nxt = due.next_run(job, at, SEOUL, "09:00")
        assert nxt > at
        assert nxt.utcoffset() == timedelta(hours=9)
    assert due.next_run("weekly-summary", at, SEOUL, "09:00") == datetime(
        2026, 12, 7, 9, 0, tzinfo=SEOUL
    )
