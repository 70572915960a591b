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
    ("759만", "7590000", None),
    ("759만원", "7590000", "KRW"),
    ("759 만원", "7590000", "KRW"),
    ("1억 2천만", "120000000", None),
    ("1억2천만원", "120000000", "KRW"),
    ("1억", "100000000", None),
    ("1.5억", "150000000", None),
    ("379만 5천원", "3795000", "KRW"),
    ("3천", "3000", None),
    ("천만", "10000000", None),
    ("1,000만원", "10000000", "KRW"),
    ("2조 5000억", "2500000000000", None),
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
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates_read_as_people_write_them(text, expected):
    assert v.parse_date(text, today=TODAY) == expected


def test_a_month_later_stays_in_the_month_it_lands_in():
    assert v.parse_date("+1m", today=date(2027, 1, 31)) == date(2027, 2, 28)
    assert v.parse_date("+1m", today=date(2028, 1, 31)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "text",
    ["2026-13-45", "2026-02-30", "0000-01-01", "someday", "", "-3d", "+99999y", "+99999d", "12/31"],
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
]


@pytest.mark.parametrize(("text", "expected"), PERIODS)
def test_periods_read_as_people_write_them(text, expected):
    assert v.parse_period(text, today=TODAY) == expected


def test_last_month_and_last_quarter_cross_the_new_year():
    january = date(2027, 1, 15)
    assert v.parse_period("last-month", today=january).label == "2026-12"
    assert v.parse_period("last-quarter", today=january).label == "2026-Q4"


@pytest.mark.parametrize(
    "text", ["forever", "0d", "99999d", "2026-Q5", "2026-13", "0000", "9999", "next-month", ""]
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
