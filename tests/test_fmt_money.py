"""Money in two styles: exact for one deal, rounded for a summary of many (i18n/fmt.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from i18n import fmt
from i18n.fmt import korean_units

EXACT = [
    ("3795000", "KRW", "ko", "379만 5천원"),
    ("3795000", "KRW", "en", "₩3,795,000"),
    ("360515972", "KRW", "ko", "3억 6,051만 5,972원"),
    ("360515972", "KRW", "en", "₩360,515,972"),
    ("12000.50", "USD", "en", "$12,000.50"),
    ("12000.50", "USD", "ko", "$12,000.50"),
]


@pytest.mark.parametrize(("amount", "currency", "locale", "expected"), EXACT)
def test_a_single_deal_shows_its_exact_amount(amount, currency, locale, expected):
    assert fmt.money(Decimal(amount), currency, locale) == expected


SUMMARY = [
    # KRW to 만원, the same figure in both languages
    ("360515972", "KRW", "ko", "3억 6,052만원"),
    ("360515972", "KRW", "en", "₩360,520,000"),
    ("27985972", "KRW", "ko", "2,799만원"),
    ("27985972", "KRW", "en", "₩27,990,000"),
    ("3795000", "KRW", "ko", "380만원"),
    ("120000000", "KRW", "ko", "1억 2천만원"),
    ("99995000", "KRW", "ko", "1억원"),
    ("14999", "KRW", "ko", "1만원"),
    ("-27985972", "KRW", "ko", "-2,799만원"),
    # below 1만원 there is nothing to round to
    ("9500", "KRW", "ko", "9,500원"),
    ("9500", "KRW", "en", "₩9,500"),
    ("0", "KRW", "ko", "0원"),
    # other currencies: whole units, never cents
    ("12000.50", "USD", "en", "$12,001"),
    ("12000.49", "USD", "en", "$12,000"),
    ("12000.50", "USD", "ko", "$12,001"),
    ("12000", "USD", "en", "$12,000"),
]


@pytest.mark.parametrize(("amount", "currency", "locale", "expected"), SUMMARY)
def test_a_summary_rounds_won_to_man_and_drops_cents(amount, currency, locale, expected):
    assert fmt.money(Decimal(amount), currency, locale, summary=True) == expected


def test_a_missing_summary_figure_is_a_dash():
    assert fmt.money(None, "KRW", "ko", summary=True) == fmt.EMPTY


def test_the_rounded_value_is_available_for_charts_and_sums():
    assert fmt.summary_amount(Decimal("360515972"), "KRW") == Decimal("360520000")
    assert fmt.summary_amount(Decimal("12000.50"), "usd") == Decimal("12001")


def test_report_figures_use_the_summary_style_velocity_included():
    from datetime import UTC, datetime

    from domain.metrics import Metrics
    from views import reports as rv
    from views.text import render

    now = datetime(2026, 11, 23, tzinfo=UTC)
    data = Metrics(
        start=now,
        end=now,
        now=now,
        won_count=3,
        won_amount=Decimal("360515972"),
        avg_deal_size=Decimal("120171990.67"),
        velocity_per_day=Decimal("27985972.4"),
        weighted_forecast=Decimal("12000.50"),
    )
    ko = render(rv.metrics(data, name="New business", period="90d", currency="KRW", locale="ko"))
    assert "하루 2,799만원" in ko and "3억 6,052만원" in ko and "1억 2,017만원" in ko
    assert "5,972원" not in ko and "1,990원" not in ko
    en = render(rv.metrics(data, name="New business", period="90d", currency="USD", locale="en"))
    assert "$27,985,972 per day" in en and "$12,001" in en and ".50" not in en


@given(st.integers(0, 10**15 - 1))
def test_every_korean_amount_we_write_reads_back_as_written(n):
    """What a card shows a Korean rep is what they may type back: never '1억 1천' for
    100,001,000, which a Korean reads (and the parser takes) as 1억 1천만."""
    from commands.values import parse_amount

    amount = parse_amount(korean_units(n) + "원")
    assert (amount.value, amount.interpreted) == (n, False)


def test_an_amount_whose_last_group_follows_eok_directly_is_written_in_digits():
    assert korean_units(100_001_000) == "100,001,000"
    assert korean_units(100_011_000) == "1억 1만 1천"
    assert korean_units(120_000_000) == "1억 2천만"
