"""THE stall rule (PRODUCT.md §1): stalled iff whole days in stage > the stage's threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.stall import (
    business_days_between,
    episode_key,
    is_business_day,
    stall_status,
    stalled_cutoff,
)

SEOUL = ZoneInfo("Asia/Seoul")
ENTERED = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul


def status(now, *, entered=ENTERED, days=7, snoozed=None, business=False, tz="Asia/Seoul"):
    return stall_status(
        stage_entered_at=entered,
        stall_days=days,
        snoozed_until=snoozed,
        now=now,
        tz=tz,
        business_days=business,
    )


def test_on_the_threshold_day_a_deal_is_not_stalled_yet():
    exactly_seven = status(ENTERED + timedelta(days=7))
    assert exactly_seven.days_in_stage == 7
    assert not exactly_seven.stalled


def test_one_second_before_eight_whole_days_it_is_still_not_stalled():
    assert not status(ENTERED + timedelta(days=8, seconds=-1)).stalled


def test_the_day_after_the_threshold_it_is_stalled_one_day_over():
    eight = status(ENTERED + timedelta(days=8))
    assert eight.stalled
    assert eight.days_over == 1
    assert eight.threshold == 7


def test_a_stage_without_threshold_never_stalls():
    assert not status(ENTERED + timedelta(days=400), days=None).stalled


def test_a_zero_day_threshold_stalls_after_one_whole_day():
    assert not status(ENTERED + timedelta(hours=23), days=0).stalled
    assert status(ENTERED + timedelta(days=1), days=0).stalled


def test_the_episode_is_stable_while_the_deal_stays_put():
    first = status(ENTERED + timedelta(days=8))
    later = status(ENTERED + timedelta(days=20))
    assert first.episode == later.episode


def test_a_deal_moved_and_moved_back_starts_a_new_episode():
    before = status(ENTERED + timedelta(days=9))
    moved_back = ENTERED + timedelta(days=10)  # moved away and back: a new stage entry
    after = status(moved_back + timedelta(days=8), entered=moved_back)
    assert after.stalled
    assert after.episode != before.episode


def test_a_snoozed_deal_is_not_stalled_before_its_snooze_date():
    now = ENTERED + timedelta(days=9)  # 2026-11-11 10:00 Seoul
    snoozed = status(now, snoozed=date(2026, 11, 12))
    assert not snoozed.stalled
    assert snoozed.snoozed


def test_on_the_snooze_date_the_deal_stalls_again_as_a_new_episode():
    unsnoozed = status(datetime(2026, 11, 12, 0, 0, tzinfo=SEOUL), snoozed=date(2026, 11, 12))
    plain = status(datetime(2026, 11, 12, 0, 0, tzinfo=SEOUL))
    assert unsnoozed.stalled
    assert unsnoozed.episode != plain.episode


def test_a_snooze_left_over_from_an_earlier_stage_does_not_count():
    leftover = status(ENTERED + timedelta(days=9), snoozed=date(2026, 11, 1))
    assert leftover.stalled
    assert leftover.episode == episode_key(ENTERED)


def test_business_days_skip_weekends():
    monday, next_monday = date(2026, 11, 2), date(2026, 11, 9)
    assert business_days_between(monday, next_monday) == 5
    assert business_days_between(date(2026, 11, 6), date(2026, 11, 8)) == 0  # Fri → Sun


def test_business_days_skip_chuseok_and_the_weekend_after_it():
    # 추석 2026: Thu 24 – Sat 26 September; Monday 5 October is the 개천절 substitute holiday.
    wednesday = date(2026, 9, 23)
    assert not is_business_day(date(2026, 9, 24))
    assert business_days_between(wednesday, date(2026, 9, 27)) == 0
    assert business_days_between(wednesday, date(2026, 9, 28)) == 1
    assert business_days_between(wednesday, date(2026, 10, 5)) == 5
    assert business_days_between(wednesday, date(2026, 10, 6)) == 6


def test_a_business_day_stage_stalls_only_after_chuseok():
    entered = datetime(2026, 9, 23, 10, 0, tzinfo=SEOUL)
    on_monday = status(
        datetime(2026, 9, 28, 10, 0, tzinfo=SEOUL), entered=entered, days=3, business=True
    )
    assert on_monday.days_in_stage == 1
    assert not on_monday.stalled
    on_thursday = status(
        datetime(2026, 10, 1, 9, 0, tzinfo=SEOUL), entered=entered, days=3, business=True
    )
    assert on_thursday.days_in_stage == 4
    assert on_thursday.stalled
    assert on_thursday.business_days


def test_without_calendar_days_the_same_deal_is_stalled_during_chuseok():
    entered = datetime(2026, 9, 23, 10, 0, tzinfo=SEOUL)
    calendar = status(datetime(2026, 9, 28, 10, 0, tzinfo=SEOUL), entered=entered, days=3)
    assert calendar.stalled
    assert calendar.days_over == 2


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        status(datetime(2026, 11, 20))


@pytest.mark.parametrize("days", [0, 1, 7, 14])
def test_the_sql_cutoff_agrees_with_the_rule(days):
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    cutoff = stalled_cutoff(now, days)
    assert status(now, entered=cutoff, days=days).stalled
    assert not status(now, entered=cutoff + timedelta(seconds=1), days=days).stalled
