"""The formatters kept or written by hand for speed (i18n.fmt) say exactly what Babel says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_date

from i18n import fmt


@pytest.mark.parametrize("locale", ["en", "ko"])
@pytest.mark.parametrize("tz", ["Asia/Seoul", "America/New_York", "UTC"])
def test_the_fast_moment_is_babels_pattern(locale, tz):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 24 * 400, 7):  # every month, hour, both halves of the day, DST
        value = start + timedelta(minutes=37 * step, seconds=step % 60)
        assert fmt.moment(value, tz, locale) == fmt.moment_by_babel(value, tz, locale)


@pytest.mark.parametrize("locale", ["en", "ko", "ko-KR", None])
def test_a_kept_day_is_babels_and_none_is_empty(locale):
    style = "long" if fmt.normalize_locale(locale) == "ko" else "medium"
    for offset in range(0, 800, 13):
        value = date(2026, 1, 1) + timedelta(days=offset)
        expected = format_date(value, style, locale=fmt.normalize_locale(locale))
        assert fmt.day(value, locale) == fmt.day(value, locale) == expected
    assert fmt.day(None, locale) == fmt.EMPTY


@pytest.mark.parametrize("locale", ["en", "ko"])
@pytest.mark.parametrize("currency", ["KRW", "USD", "EUR", "JPY", "GBP", "CAD", "XYZ", "usd"])
def test_money_written_by_hand_is_babels(locale, currency):
    """fmt.money's own writing of non-negative amounts (symbol, grouped digits) against
    Babel's pattern, exact and summary, whole and with cents, small and huge."""
    import random
    from decimal import Decimal

    rng = random.Random(f"{locale}{currency}")
    values = [Decimal(0), Decimal("0.00"), Decimal("0.5"), Decimal("999.99"), Decimal("1E+7")]
    values += [Decimal(rng.randint(0, 10 ** rng.randint(1, 19))) / 100 for _ in range(400)]
    values += [Decimal(rng.randint(0, 10**12)) for _ in range(100)]
    loc = fmt.normalize_locale(locale)
    cur = currency.upper()
    for value in values:
        for summary in (False, True):
            got = fmt.money(value, currency, locale, summary=summary)
            amount = fmt.summary_amount(value, cur) if summary else value
            if cur in fmt._NO_MINOR:
                amount = amount.quantize(Decimal(1), fmt.ROUND_HALF_UP)
            if loc == "ko" and cur in ("KRW", "USD"):
                continue  # written by their own rules (korean_units, $), not Babel's
            whole = amount == amount.to_integral_value()
            assert got == fmt.money_by_babel(amount, cur, loc, whole), (value, summary)


@pytest.mark.parametrize("locale", ["en", "ko", "ko-KR", None])
def test_a_whole_number_written_by_hand_is_babels(locale):
    """fmt.number's own writing of ints (a board's counts, list totals) against Babel's."""
    import random

    from babel.numbers import format_decimal

    rng = random.Random(f"number{locale}")
    values = [0, 1, -1, 999, 1000, -1000, 9999, 10**6, -(10**6) + 1, 10**18 + 7]
    values += [rng.randrange(-(10**12), 10**12) for _ in range(500)]
    babel = {"en": "en_US", "ko": "ko_KR"}[fmt.normalize_locale(locale)]
    for value in values:
        assert fmt.number(value, locale) == format_decimal(value, "#,##0", locale=babel)
