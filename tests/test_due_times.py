"""Due times as people write them, made instants: the pure functions at their boundaries
(a day with and without a time, business days and holidays, DST gaps and folds, the past)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from commands.grammar import parse
from commands.task_grammar import kind_of
from commands.when import leading_due, parse_due, parse_time
from domain.due_times import Due, add_business_days, local, resolve, snoozed
from domain.errors import InvalidInput

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)  # Monday 09:30 in Seoul


def at(text: str, now: datetime = NOW, tz: ZoneInfo = SEOUL) -> str:
    today = now.astimezone(tz).date()
    instant = resolve(parse_due(text, today=today), now=now, tz=tz, country="KR")
    return instant.astimezone(tz).isoformat(timespec="minutes")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("tomorrow 10:00", "2026-11-03T10:00+09:00"),
        ("내일 오후 3시", "2026-11-03T15:00+09:00"),
        ("내일 오전 10시 30분", "2026-11-03T10:30+09:00"),
        ("내일 10시 반", "2026-11-03T10:30+09:00"),
        ("friday 3pm", "2026-11-06T15:00+09:00"),
        ("금요일 오후 3시", "2026-11-06T15:00+09:00"),
        ("2026-12-31 17:30", "2026-12-31T17:30+09:00"),
        ("12월 31일 오후 5시", "2026-12-31T17:00+09:00"),
        ("tomorrow", "2026-11-03T09:00+09:00"),  # a day alone: 09:00 local
        ("내일", "2026-11-03T09:00+09:00"),
        ("오전 10시", "2026-11-02T10:00+09:00"),  # a time alone, still ahead today
        ("9:00", "2026-11-03T09:00+09:00"),  # a time alone, already past: tomorrow
        ("noon", "2026-11-02T12:00+09:00"),
        ("+2d", "2026-11-04T09:30+09:00"),  # a span keeps the time of day
        ("+3h", "2026-11-02T12:30+09:00"),
        ("in 3 days", "2026-11-05T09:30+09:00"),
        ("3일 후", "2026-11-05T09:30+09:00"),
        ("2시간 뒤", "2026-11-02T11:30+09:00"),
        ("+1w", "2026-11-09T09:30+09:00"),
    ],
)
def test_what_people_write_is_the_instant_they_mean(written, expected):
    assert at(written) == expected


def test_business_days_skip_weekends_and_the_countrys_holidays():
    friday = date(2026, 11, 6)
    assert add_business_days(friday, 1, "KR") == date(2026, 11, 9)  # over the weekend
    # Chuseok 2026 is Sep 24-26 (Thu-Sat) in Korea; Wednesday + 1 business day is Monday.
    assert add_business_days(date(2026, 9, 23), 1, "KR") == date(2026, 9, 28)
    assert add_business_days(date(2026, 9, 23), 1, "US") == date(2026, 9, 24)
    friday_night = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)  # Friday 21:00 in Seoul
    assert at("+2bd", now=friday_night) == "2026-11-10T21:00+09:00"
    assert at("2영업일", now=friday_night) == "2026-11-10T21:00+09:00"


def test_a_time_that_a_dst_change_skips_moves_forward_and_one_that_repeats_is_the_first():
    # 2026-03-08 02:30 does not exist in New York (02:00 -> 03:00).
    gap = local(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert gap.astimezone(NEW_YORK).isoformat() == "2026-03-08T03:30:00-04:00"
    # 2026-11-01 01:30 happens twice (EDT, then EST): the first.
    fold = local(date(2026, 11, 1), time(1, 30), NEW_YORK)
    assert fold.astimezone(NEW_YORK).isoformat() == "2026-11-01T01:30:00-04:00"
    # "+1d" over the fall-back night keeps 09:00 on the clock: 25 hours later.
    saturday_9 = datetime(2026, 10, 31, 13, 0, tzinfo=UTC)  # 09:00 EDT
    sunday = resolve(Due(days=1), now=saturday_9, tz=NEW_YORK)
    assert sunday.astimezone(NEW_YORK).isoformat() == "2026-11-01T09:00:00-05:00"
    assert (sunday - saturday_9).total_seconds() == 25 * 3600
    # "+3h" is three hours, DST or not.
    night = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT
    later = resolve(Due(minutes=180), now=night, tz=NEW_YORK)
    assert later.astimezone(NEW_YORK).isoformat() == "2026-11-01T02:30:00-05:00"


def test_the_members_timezone_decides_what_tomorrow_10_means():
    assert at("tomorrow 10:00", tz=NEW_YORK) == "2026-11-02T10:00-05:00"  # Sunday evening there


def test_snooze_counts_a_span_from_the_later_of_now_and_the_due_time():
    tomorrow_10 = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    moved = snoozed(Due(days=2), now=NOW, current=tomorrow_10, tz=SEOUL, country="KR")
    assert moved.astimezone(SEOUL).isoformat() == "2026-11-05T10:00:00+09:00"
    yesterday = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    moved = snoozed(Due(days=1), now=NOW, current=yesterday, tz=SEOUL, country="KR")
    assert moved.astimezone(SEOUL).isoformat() == "2026-11-03T09:30:00+09:00"


@pytest.mark.parametrize("written", ["yesterday please", "25:00", "+0d", "13pm", ""])
def test_what_is_not_a_due_time_says_how_to_write_one(written):
    with pytest.raises(InvalidInput) as err:
        parse_due(written, today=MONDAY)
    assert err.value.key == "grammar.bad_due"


def test_times_of_day():
    assert parse_time("12am") == time(0, 0)
    assert parse_time("12pm") == time(12, 0)
    assert parse_time("오전 12시") == time(0, 0)
    assert parse_time("오후 12시") == time(12, 0)
    assert parse_time("저녁 7시") == time(19, 0)
    assert parse_time("24:00") is None


def test_leading_words_that_read_as_a_due_time_are_the_due_time():
    due, rest = leading_due(["내일", "10시", "CFO", "콜"], today=MONDAY)
    assert (due.day, due.at, rest) == (date(2026, 11, 3), time(10, 0), ["CFO", "콜"])
    due, rest = leading_due(["call", "3", "people"], today=MONDAY)
    assert due is None and rest == ["call", "3", "people"]


def test_the_task_grammar():
    cmd = parse("task", 'new "Call the CFO" deal:D42 due:tomorrow 10:00 owner:@lee', today=MONDAY)
    assert (cmd.text, cmd.deal.number, cmd.owner.name) == ("Call the CFO", 42, "lee")
    assert (cmd.due.day, cmd.due.at) == (date(2026, 11, 3), time(10, 0))
    assert parse("task", "new", today=MONDAY).text is None  # the modal
    listed = parse("task", "list @kim overdue", today=MONDAY)
    assert (listed.owner.name, listed.window) == ("kim", "overdue")
    assert parse("task", "done t3", today=MONDAY).number == 3
    assert parse("task", "snooze T3 내일 오후 3시까지", today=MONDAY).due.at == time(15, 0)
    for bad, key in [
        ("done X", "grammar.bad_task"),
        ("snooze T3", "grammar.missing_due"),
        ('new "x" kind:fax', "grammar.bad_kind"),
        ("new due:tomorrow", "grammar.missing_task_text"),
        ('new "x" deal:D1 lead:L1', "grammar.extra_words"),
    ]:
        with pytest.raises(InvalidInput) as err:
            parse("task", bad, today=MONDAY)
        assert err.value.key == key, bad


def test_a_kind_is_read_from_the_words_of_a_task():
    assert kind_of("CFO 콜") == "call"
    assert kind_of("Send the email with the deck") == "email"
    assert kind_of("미팅 준비") == "meeting"
    assert kind_of("Prepare the quote") == "todo"


@pytest.mark.parametrize("locale", ["en", "ko"])
@pytest.mark.parametrize("tz", ["Asia/Seoul", "America/New_York"])
def test_the_fast_due_time_format_is_babels_pattern(locale, tz):
    from datetime import timedelta

    from i18n import fmt

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 24 * 400, 7):  # every weekday, month, hour and half of the day
        value = start + timedelta(minutes=37 * step)
        assert fmt.due(value, tz, locale) == fmt.due_by_babel(value, tz, locale)
