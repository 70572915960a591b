"""Value parsers, as a spec: amounts, dates, periods, people and references as users write them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from commands import values as v
from commands.types import Amount, DealRef, LeadRef, Period, UserRef
from domain.errors import InvalidInput

TODAY = date(2026, 11, 23)


def _reads_in_both_languages(err: InvalidInput) -> None:
    assert err.render("en") and err.render("ko")


AMOUNTS = [
    ("7590000", "7590000", None),
    ("7,590,000", "7590000", None),
    ("7.59m", "7590000", None),
    ("7.59M", "7590000", None),
    ("12k", "12000", None),
    ("1.2b", "1200000000", None),
    ("0", "0", None),
    ("759만", "7590000", "KRW"),
    ("759만원", "7590000", "KRW"),
    ("759 만원", "7590000", "KRW"),
    ("1억 2천만", "120000000", "KRW"),
    ("1억2천만원", "120000000", "KRW"),
    ("1억", "100000000", "KRW"),
    ("1.5억", "150000000", "KRW"),
    ("379만 5천원", "3795000", "KRW"),
    ("3천", "3000", "KRW"),
    ("천만", "10000000", "KRW"),
    ("1,000만원", "10000000", "KRW"),
    ("2조 5000억", "2500000000000", "KRW"),
    ("$12,000", "12000", "USD"),
    ("$12,000.50", "12000.50", "USD"),
    ("US$ 99.9", "99.90", "USD"),
    ("$1.5k", "1500", "USD"),
    ("₩7,590,000", "7590000", "KRW"),
    ("KRW 7590000", "7590000", "KRW"),
    ("12000 USD", "12000", "USD"),
    ("12000usd", "12000", "USD"),
    ("5만 달러", "50000", "USD"),
    ("12.5", "12.50", None),
    ("7.599999m", "7599999", None),
]


@pytest.mark.parametrize(("text", "value", "currency"), AMOUNTS)
def test_amounts_read_as_people_write_them(text, value, currency):
    assert v.parse_amount(text) == Amount(Decimal(value), currency)


# After 억 (or 조) a group without its own 만 (or 억) is the next unit down, as Korean sellers
# say it; the amount is marked as interpreted so the reply reads it back in words.
AFTER_EOK = [
    ("1억5천", "150000000"),
    ("1억 5천", "150000000"),
    ("1억5천원", "150000000"),
    ("1억 5천 원", "150000000"),
    ("3억2천5백", "325000000"),
    ("1억천", "110000000"),
    ("1억5000", "150000000"),
    ("1억 5,000", "150000000"),
    ("1억 500", "105000000"),
    ("1억5천500", "155000000"),
    ("2조 3억 5천", "2000350000000"),
    ("1조5천", "1500000000000"),
    ("일억오천", "150000000"),
    ("삼억 이천오백", "325000000"),
]


@pytest.mark.parametrize(("text", "value"), AFTER_EOK)
def test_a_group_after_eok_without_its_own_man_counts_man(text, value):
    assert v.parse_amount(text) == Amount(Decimal(value), "KRW", interpreted=True)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2억3천만", "230000000"),
        ("2억 3천만원", "230000000"),
        ("1억 2천만 5천", "120005000"),  # after 만 a group is ones, as written
        ("1억", "100000000"),
        ("5천", "5000"),
        ("1,000만원", "10000000"),
    ],
)
def test_amounts_with_every_unit_written_are_read_as_written(text, value):
    assert v.parse_amount(text) == Amount(Decimal(value), "KRW", interpreted=False)


def test_a_lone_digit_after_eok_is_asked_about_not_guessed():
    # Said aloud, 1억5 is 1.5억 as often as the 만 rule would make it 1억 5만.
    for text, one, other in (
        ("1억5", "1억 5천만", "1억 5만"),
        ("1억 5원", "1억 5천만", "1억 5만"),
        ("일억오", "1억 5천만", "1억 5만"),
        ("2조3", "2조 3천억", "2조 3억"),
    ):
        with pytest.raises(InvalidInput) as caught:
            v.parse_amount(text)
        err = caught.value
        assert (err.key, err.params["value"]) == ("grammar.amount_ambiguous", text)
        assert (err.params["one"], err.params["other"]) == (one, other)
        assert f"`{one}`" in err.render("ko") and f"`{other}`" in err.render("en")


HANGUL_NUMERALS = [
    ("천오백만원", "15000000"),
    ("오백만", "5000000"),
    ("삼억", "300000000"),
    ("이천만원", "20000000"),
    ("십만원", "100000"),
    ("3천오백만", "35000000"),
    ("이십오만", "250000"),
    ("일천만", "10000000"),
    ("구백구십구만 구천구백구십구", "9999999"),
    ("칠백오십구만 원", "7590000"),
]


@pytest.mark.parametrize(("text", "value"), HANGUL_NUMERALS)
def test_hangul_numerals_are_amounts_in_won(text, value):
    assert v.parse_amount(text) == Amount(Decimal(value), "KRW")


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("759만", "7590000", "KRW"),
        ("5천", "5000", "KRW"),
        ("오백만", "5000000", "KRW"),
        ("7590000원", "7590000", "KRW"),
        ("5만 달러", "50000", "USD"),
        ("$5만", "50000", "USD"),
        ("5만 USD", "50000", "USD"),
        ("7590000", "7590000", None),
        ("12k", "12000", None),
    ],
)
def test_a_korean_amount_is_won_unless_another_currency_is_written(text, value, currency):
    # None takes the workspace's currency; a Korean amount never does (docs/concepts.md).
    assert v.parse_amount(text) == Amount(Decimal(value), currency)


def test_whole_amounts_have_no_fractional_digits_and_cents_have_two():
    assert str(v.parse_amount("7.59m").value) == "7590000"
    assert str(v.parse_amount("$12,000.5").value) == "12000.50"


BAD_AMOUNTS = [
    ("abc", "grammar.bad_amount"),
    ("", "grammar.bad_amount"),
    ("$", "grammar.bad_amount"),
    ("원", "grammar.bad_amount"),
    ("-5", "grammar.amount_negative"),
    ("-$5", "grammar.amount_negative"),
    ("$-5", "grammar.amount_negative"),
    ("1.234", "grammar.amount_decimals"),
    ("1.234567k", "grammar.amount_decimals"),
    ("$5만원", "grammar.bad_amount"),
    ("오오", "grammar.bad_amount"),
    ("오5", "grammar.bad_amount"),
    ("5오", "grammar.bad_amount"),
    ("영원", "grammar.bad_amount"),
    ("1억50000", "grammar.bad_amount"),
    ("1억0.5", "grammar.bad_amount"),
    ("천천", "grammar.bad_amount"),
    ("₩5 USD", "grammar.bad_amount"),
    ("1,23", "grammar.bad_amount"),
    ("7590,000", "grammar.bad_amount"),
    ("7.5.9", "grammar.bad_amount"),
    ("12kk", "grammar.bad_amount"),
    ("만억", "grammar.bad_amount"),
    ("2천3천", "grammar.bad_amount"),
    ("1 2만", "grammar.bad_amount"),
    ("1e6", "grammar.bad_amount"),
    ("1,000,000,000,000,000", "grammar.amount_too_large"),
    ("1000000000000000", "grammar.amount_too_large"),
    ("9" * 40, "grammar.amount_too_large"),
    ("9" * 40 + "억", "grammar.amount_too_large"),
    ("99999999999조", "grammar.amount_too_large"),
    ("1000000b", "grammar.amount_too_large"),
]


@pytest.mark.parametrize(("text", "key"), BAD_AMOUNTS)
def test_amounts_that_cannot_be_meant_are_refused(text, key):
    with pytest.raises(InvalidInput) as caught:
        v.parse_amount(text)
    assert caught.value.key == key
    assert caught.value.params["value"] == v.shown(text)
    _reads_in_both_languages(caught.value)


def test_the_largest_amount_fits_the_money_column():
    assert v.parse_amount("999,999,999,999,999.99").value == Decimal("999999999999999.99")


DATES = [
    ("2026-12-31", date(2026, 12, 31)),
    ("2026-1-5", date(2026, 1, 5)),
    ("2026.12.31", date(2026, 12, 31)),
    ("2026.12.31.", date(2026, 12, 31)),
    ("2026/12/31", date(2026, 12, 31)),
    ("2026년 12월 31일", date(2026, 12, 31)),
    ("today", TODAY),
    ("Tomorrow", date(2026, 11, 24)),
    ("오늘", TODAY),
    ("내일", date(2026, 11, 24)),
    ("모레", date(2026, 11, 25)),
    ("+30d", date(2026, 12, 23)),
    ("30d", date(2026, 12, 23)),
    ("+2w", date(2026, 12, 7)),
    ("+1m", date(2026, 12, 23)),
    ("+3m", date(2027, 2, 23)),
    ("+1y", date(2027, 11, 23)),
    ("+7일", date(2026, 11, 30)),
    ("+2주", date(2026, 12, 7)),
    ("3개월", date(2027, 2, 23)),
    # Korean and spreadsheet forms; TODAY is Monday 2026-11-23.
    ("20261231", date(2026, 12, 31)),
    ("2026. 12. 31.", date(2026, 12, 31)),
    ("2026. 12. 31", date(2026, 12, 31)),
    ("2026년12월31일", date(2026, 12, 31)),
    ("12/31", date(2026, 12, 31)),
    ("12.31", date(2026, 12, 31)),
    ("12. 31.", date(2026, 12, 31)),
    ("12월 31일", date(2026, 12, 31)),
    ("12월31일", date(2026, 12, 31)),
    ("11/23", TODAY),  # a day without a year: the next one on or after today
    ("11/22", date(2027, 11, 22)),
    ("1/15", date(2027, 1, 15)),
    ("1월 15일", date(2027, 1, 15)),
    ("이번주 금요일", date(2026, 11, 27)),
    ("이번 주 금요일", date(2026, 11, 27)),
    ("다음주 금요일", date(2026, 12, 4)),
    ("다음 주 금요일", date(2026, 12, 4)),
    ("다음주 금", date(2026, 12, 4)),
    ("다음주 월요일", date(2026, 11, 30)),
    ("금요일", date(2026, 11, 27)),
    ("월요일", TODAY),
    ("이번 달 말", date(2026, 11, 30)),
    ("이번달 말", date(2026, 11, 30)),
    ("이번달말", date(2026, 11, 30)),
    ("월말", date(2026, 11, 30)),
    ("다음 달 말", date(2026, 12, 31)),
    ("다음달 말일", date(2026, 12, 31)),
    ("다음달 15일", date(2026, 12, 15)),
    ("다음 달 15일", date(2026, 12, 15)),
    ("next friday", date(2026, 12, 4)),
    ("Next Friday", date(2026, 12, 4)),
    ("friday", date(2026, 11, 27)),
    ("fri", date(2026, 11, 27)),
    ("end of month", date(2026, 11, 30)),
    ("eom", date(2026, 11, 30)),
    ("end of next month", date(2026, 12, 31)),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates_read_as_people_write_them(text, expected):
    assert v.parse_date(text, today=TODAY) == expected


def test_weeks_run_monday_to_sunday_and_month_ends_follow_the_calendar():
    sunday = date(2026, 11, 29)
    assert v.parse_date("이번주 금요일", today=sunday) == date(2026, 11, 27)  # this week's
    assert v.parse_date("다음주 금요일", today=sunday) == date(2026, 12, 4)
    assert v.parse_date("next friday", today=sunday) == date(2026, 12, 4)
    assert v.parse_date("금요일", today=date(2026, 11, 27)) == date(2026, 11, 27)
    assert v.parse_date("월말", today=date(2028, 2, 3)) == date(2028, 2, 29)
    assert v.parse_date("다음 달 말", today=date(2026, 12, 15)) == date(2027, 1, 31)
    assert v.parse_date("end of month", today=date(2026, 11, 30)) == date(2026, 11, 30)


def test_a_day_without_a_year_that_the_next_year_lacks_is_refused_not_moved():
    assert v.parse_date("2/29", today=date(2028, 1, 10)) == date(2028, 2, 29)
    for text in ("2/29", "2월 29일"):
        with pytest.raises(InvalidInput) as caught:
            v.parse_date(text, today=TODAY)  # 2027 has no 29 February
        assert caught.value.key == "grammar.bad_date"


def test_a_month_later_stays_in_the_month_it_lands_in():
    assert v.parse_date("+1m", today=date(2027, 1, 31)) == date(2027, 2, 28)
    assert v.parse_date("+1m", today=date(2028, 1, 31)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-45",
        "2026-02-30",
        "0000-01-01",
        "someday",
        "",
        "-3d",
        "+99999y",
        "+99999d",
        "2/30",
        "2.30",
        "13/1",
        "0/5",
        "2월 30일",
        "20261301",
        "12/31/2026",
        "다음달 32일",
        "다음 달 31일 말",
        "next",
        "next month",
        "저번주 금요일",
    ],
)
def test_dates_that_do_not_exist_are_refused(text):
    with pytest.raises(InvalidInput) as caught:
        v.parse_date(text, today=TODAY)
    assert caught.value.key == "grammar.bad_date"
    assert caught.value.params["value"] == v.shown(text)
    _reads_in_both_languages(caught.value)


PERIODS = [
    ("90d", Period(days=90, label="90d")),
    ("30d", Period(days=30, label="30d")),
    ("this-month", Period(start=date(2026, 11, 1), end=date(2026, 12, 1), label="2026-11")),
    ("this month", Period(start=date(2026, 11, 1), end=date(2026, 12, 1), label="2026-11")),
    ("last-month", Period(start=date(2026, 10, 1), end=date(2026, 11, 1), label="2026-10")),
    ("this-quarter", Period(start=date(2026, 10, 1), end=date(2027, 1, 1), label="2026-Q4")),
    ("last-quarter", Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3")),
    ("this_year", Period(start=date(2026, 1, 1), end=date(2027, 1, 1), label="2026")),
    ("last-year", Period(start=date(2025, 1, 1), end=date(2026, 1, 1), label="2025")),
    ("2026-Q3", Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3")),
    ("2026q1", Period(start=date(2026, 1, 1), end=date(2026, 4, 1), label="2026-Q1")),
    ("2026-11", Period(start=date(2026, 11, 1), end=date(2026, 12, 1), label="2026-11")),
    ("2026-12", Period(start=date(2026, 12, 1), end=date(2027, 1, 1), label="2026-12")),
    ("2026", Period(start=date(2026, 1, 1), end=date(2027, 1, 1), label="2026")),
    ("이번달", Period(start=date(2026, 11, 1), end=date(2026, 12, 1), label="2026-11")),
    ("지난 분기", Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3")),
    ("30일", Period(days=30, label="30d")),
    ("30일간", Period(days=30, label="30d")),
    ("최근 30일", Period(days=30, label="30d")),
    ("지난 30일", Period(days=30, label="30d")),
    ("최근 90일 동안", Period(days=90, label="90d")),
    ("3개월", Period(start=date(2026, 8, 23), end=date(2026, 11, 24))),
    ("최근 3개월", Period(start=date(2026, 8, 23), end=date(2026, 11, 24))),
    ("지난 3개월", Period(start=date(2026, 8, 23), end=date(2026, 11, 24))),
    ("6개월간", Period(start=date(2026, 5, 23), end=date(2026, 11, 24))),
    ("3달", Period(start=date(2026, 8, 23), end=date(2026, 11, 24))),
]


@pytest.mark.parametrize(("text", "expected"), PERIODS)
def test_periods_read_as_people_write_them(text, expected):
    assert v.parse_period(text, today=TODAY) == expected


def test_last_month_and_last_quarter_cross_the_new_year():
    january = date(2027, 1, 15)
    assert v.parse_period("last-month", today=january).label == "2026-12"
    assert v.parse_period("last-quarter", today=january).label == "2026-Q4"


@pytest.mark.parametrize(
    "text",
    [
        "forever",
        "0d",
        "99999d",
        "2026-Q5",
        "2026-13",
        "0000",
        "9999",
        "next-month",
        "",
        "0일",
        "0개월",
        "9999일",
        "999개월",
        "최근",
        "다음 30일",
    ],
)
def test_periods_that_cannot_be_meant_are_refused(text):
    with pytest.raises(InvalidInput) as caught:
        v.parse_period(text, today=TODAY)
    assert caught.value.key == "grammar.bad_period"
    _reads_in_both_languages(caught.value)


USERS = [
    ("<@U123ABC|kim>", UserRef(slack_id="U123ABC", name="kim")),
    ("<@U123ABC>", UserRef(slack_id="U123ABC")),
    ("<@W9|Kim Minsu>", UserRef(slack_id="W9", name="Kim Minsu")),
    ("@kim", UserRef(name="kim")),
    ("@김민수", UserRef(name="김민수")),
]


@pytest.mark.parametrize(("text", "expected"), USERS)
def test_people_are_mentions_or_at_names(text, expected):
    assert v.parse_user(text) == expected
    assert v.is_user(text)


def test_a_bare_name_is_a_person_only_where_nothing_else_is_meant():
    assert v.parse_user("kim", bare=True) == UserRef(name="kim")
    for text in ("kim", "<#C1|deals>", "@", "kim lee"):
        with pytest.raises(InvalidInput) as caught:
            v.parse_user(text)
        assert caught.value.key == "grammar.bad_user"
        _reads_in_both_languages(caught.value)
    assert not v.is_user("kim")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", DealRef(number=42)),
        ("D42", DealRef(number=42)),
        ("d42", DealRef(number=42)),
        ("#42", DealRef(number=42)),
        ("#D42", DealRef(number=42)),
        ("Acme ERP", DealRef(text="Acme ERP")),
        ("L7", DealRef(text="L7")),
        ("R&amp;D", DealRef(text="R&D")),
    ],
)
def test_deal_references(text, expected):
    assert v.parse_deal_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", LeadRef(number=7)),
        ("L7", LeadRef(number=7)),
        ("l7", LeadRef(number=7)),
        ("#7", LeadRef(number=7)),
        ("Kim Minsu", LeadRef(text="Kim Minsu")),
    ],
)
def test_lead_references(text, expected):
    assert v.parse_lead_ref(text) == expected


def test_an_empty_reference_asks_which_one():
    for parse, key in (
        (v.parse_deal_ref, "grammar.missing_deal"),
        (v.parse_lead_ref, "grammar.missing_lead"),
    ):
        with pytest.raises(InvalidInput) as caught:
            parse("  ")
        assert caught.value.key == key


def test_counts_reps_win_rates_and_emails():
    assert v.parse_count("1,200", key="size") == 1200
    assert v.parse_reps("10") == 10
    assert v.parse_winrate("80%") == Decimal("0.8")
    assert v.parse_winrate("80") == Decimal("0.8")
    assert v.parse_winrate("0.8") == Decimal("0.8")
    assert v.parse_winrate("100%") == Decimal("1")
    assert v.parse_email("<mailto:kim@acme.kr|kim@acme.kr>") == "kim@acme.kr"


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: v.parse_count("many", key="size"), "grammar.bad_number"),
        (lambda: v.parse_count("-1", key="size"), "grammar.bad_number"),
        (lambda: v.parse_count("5", key="size", maximum=4), "grammar.bad_number"),
        (lambda: v.parse_reps("0"), "grammar.bad_reps"),
        (lambda: v.parse_reps("2.5"), "grammar.bad_reps"),
        (lambda: v.parse_winrate("0%"), "grammar.bad_winrate"),
        (lambda: v.parse_winrate("150%"), "grammar.bad_winrate"),
        (lambda: v.parse_winrate("high"), "grammar.bad_winrate"),
        (lambda: v.parse_email("kim"), "grammar.bad_email"),
        (lambda: v.parse_email("kim@acme"), "grammar.bad_email"),
    ],
)
def test_small_values_that_cannot_be_meant_are_refused(call, key):
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.key == key
    _reads_in_both_languages(caught.value)
