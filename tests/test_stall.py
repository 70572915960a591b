"""THE stall rule (docs/concepts.md): stalled iff whole days in stage > the stage's threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import metrics
from domain.deal_reads import list_deals, stalled_deals
from domain.refs import find_pipeline
from domain.stall import (
    business_days_between,
    episode_key,
    is_business_day,
    stall_cutoff,
    stall_status,
)
from tests import factories as f

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


# ---------------------------------------------------------------- the rule in SQL
#
# Every query that asks "stalled?" compares ``stage_entered_at`` with :func:`stall_cutoff`
# (through :func:`stalled_condition`). These tests hold the cutoff against :func:`stall_status`
# at its boundary and over many entry times, on the clocks where it is easy to get wrong:
# weekends, public holidays, DST nights (New York, London) and zones whose midnight itself
# is skipped or repeated (Santiago).

CLOCKS = [
    # (zone, country, instants "now" to judge at)
    (
        "Asia/Seoul",
        "KR",
        [
            datetime(2026, 9, 28, 10, 0, tzinfo=SEOUL),  # Monday after 추석
            datetime(2026, 10, 1, 9, 0, tzinfo=SEOUL),
            datetime(2026, 10, 5, 0, 0, tzinfo=SEOUL),  # a local midnight, a holiday
            datetime(2026, 10, 4, 23, 59, 59, 999999, tzinfo=SEOUL),
            datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
        ],
    ),
    (
        "America/New_York",
        "US",
        [
            datetime(2026, 3, 8, 3, 0, tzinfo=ZoneInfo("America/New_York")),  # clocks sprang
            datetime(2026, 3, 9, 0, 30, tzinfo=ZoneInfo("America/New_York")),
            datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),  # first 01:30
            datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
            datetime(2026, 11, 27, 12, 0, tzinfo=ZoneInfo("America/New_York")),  # Thanksgiving+1
        ],
    ),
    (
        "Europe/London",
        "GB",
        [
            datetime(2026, 3, 30, 0, 30, tzinfo=ZoneInfo("Europe/London")),
            datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=ZoneInfo("Europe/London")),
        ],
    ),
    (
        "America/Santiago",  # midnight is skipped on 6 September and repeated on 4/5 April
        "CL",
        [
            datetime(2026, 9, 6, 4, 0, tzinfo=UTC),  # 01:00, the first instant of the day
            datetime(2026, 9, 7, 0, 0, tzinfo=ZoneInfo("America/Santiago")),
            datetime(2026, 4, 4, 23, 30, fold=1, tzinfo=ZoneInfo("America/Santiago")),
            datetime(2026, 4, 5, 0, 0, tzinfo=ZoneInfo("America/Santiago")),
        ],
    ),
]
CASES = [
    pytest.param(tz, country, now, business, id=f"{tz}-{now.isoformat()}-{business and 'bd'}")
    for tz, country, nows in CLOCKS
    for now in nows
    for business in (False, True)
]
MICRO = timedelta(microseconds=1)


def judged(entered, now, days, tz, country, business, snoozed=None):
    return stall_status(
        stage_entered_at=entered,
        stall_days=days,
        snoozed_until=snoozed,
        now=now,
        tz=tz,
        business_days=business,
        country=country,
    ).stalled


@pytest.mark.parametrize(("tz", "country", "now", "business"), CASES)
@pytest.mark.parametrize("days", [0, 1, 3, 7, 14])
def test_the_sql_cutoff_is_exactly_the_stall_rule(tz, country, now, business, days):
    cutoff = stall_cutoff(now, days, tz=tz, business_days=business, country=country)
    # at the boundary: a microsecond earlier is stalled, the cutoff itself is not
    assert judged(cutoff - MICRO, now, days, tz, country, business)
    assert not judged(cutoff, now, days, tz, country, business)
    # and everywhere around it, every 47 minutes and a few seconds, over weeks
    entered = (now - timedelta(days=2 * days + 12)).astimezone(UTC)  # stored as UTC
    while entered < now + timedelta(days=1):
        assert (entered < cutoff) == judged(entered, now, days, tz, country, business), entered
        entered += timedelta(minutes=47, seconds=13)


def test_a_business_day_cutoff_is_a_local_midnight_and_skips_chuseok():
    now = datetime(2026, 10, 1, 9, 0, tzinfo=SEOUL)  # Thursday after 추석 (24–26 September)
    cutoff = stall_cutoff(now, 3, tz="Asia/Seoul", business_days=True)
    # Entered any day from Wednesday 23 to Sunday 27 September, a deal has the same 4 business
    # days (28, 29, 30 September, 1 October): over a threshold of 3. From Monday 28th, 3.
    assert cutoff == datetime(2026, 9, 28, 0, 0, tzinfo=SEOUL)


def test_the_cutoff_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        stall_cutoff(datetime(2026, 11, 20), 7)


# ---------------------------------------------------------------- every query, against the rule

DB_CLOCKS = [
    ("Asia/Seoul", "KR", datetime(2026, 10, 1, 9, 0, tzinfo=SEOUL), True),
    ("Asia/Seoul", "KR", datetime(2026, 10, 1, 9, 0, tzinfo=SEOUL), False),
    ("America/New_York", "US", datetime(2026, 3, 9, 4, 30, tzinfo=UTC), True),
    ("America/Santiago", "CL", datetime(2026, 9, 7, 3, 0, tzinfo=UTC), True),
    ("Europe/London", "GB", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), False),
]


@pytest.mark.parametrize(("tz", "country", "now", "business"), DB_CLOCKS)
def test_deal_lists_the_scheduler_and_the_board_find_exactly_the_stalled_deals(
    session, tz, country, now, business
):
    """Deals entered every 7 h 13 min over a month, in stages of 7, 10 and 14 days, some
    snoozed (until yesterday, today, tomorrow, or a date left over from an earlier stage):
    ``/deal list stalled``, the scheduler's stall query and the board's stalled counts each
    name exactly the deals :func:`stall_status` calls stalled."""
    ws = f.workspace(
        session, timezone=tz, holiday_country=country, stall_business_days=business, locale="en"
    )
    rep = f.member(session, ws, "UREP")
    today = now.astimezone(ZoneInfo(tz)).date()
    made = []
    for k in range(100):
        entered = now - k * timedelta(hours=7, minutes=13)
        stage = ("Contact", "Qualification", "Meeting")[k % 3]
        d = f.deal(session, ws, rep, title=f"Deal {k}", now=entered, stage_text=stage)
        if k % 7 == 0:
            d.snoozed_until = today + timedelta(days=(k // 7) % 3 - 1)
        elif k % 11 == 0:
            d.snoozed_until = entered.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
        made.append((d, stage, {"Contact": 7, "Qualification": 10, "Meeting": 14}[stage]))
    session.add_all(d for d, _, _ in made)
    session.flush()
    stalled = {
        d.number: stage
        for d, stage, days in made
        if stall_status(
            stage_entered_at=d.stage_entered_at,
            stall_days=days,
            snoozed_until=d.snoozed_until,
            now=now,
            tz=tz,
            business_days=business,
            country=country,
        ).stalled
    }
    assert 10 < len(stalled) < 90  # both sides of the line are well populated

    page = list_deals(session=session, workspace=ws, now=now, stalled=True, limit=500)
    assert {r.number for r in page.rows} == set(stalled)
    assert page.total == len(stalled)

    found = stalled_deals(session=session, workspace=ws, now=now)
    assert {r.number for r in found} == set(stalled)

    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    board = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=now)
    counted = {s.name: s.stalled for s in board.stages if s.stalled}
    assert counted == {
        name: n
        for name in ("Contact", "Qualification", "Meeting")
        if (n := sum(1 for stage in stalled.values() if stage == name))
    }
