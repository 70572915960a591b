"""The one formatter for money, numbers, percentages, dates and times.

Korean won is written the way Korean teams say it: 7,590,000 -> ``759만원``,
3,795,000 -> ``379만 5천원``, 120,000,000 -> ``1억 2천만원``. Everything else uses CLDR
(Babel) for the locale: ``₩3,795,000``, ``$12,000``, ``$12,000.50``.

**Two money styles, one rule.** A figure about one deal (its card, a list row, an amount
someone typed being read back) is exact: ``379만 5천원``, ``₩3,795,000``, ``$12,000.50``.
A figure that sums or averages many deals (board and list totals, forecast, metrics, plan,
digests, the weekly summary, per-day velocity) is a summary, ``money(..., summary=True)``:

* KRW rounds to the nearest 만원 (10,000 won, half up) in both languages, so a Korean and an
  English reader see the same figure: 360,515,972 is ``3억 6,052만원`` / ``₩360,520,000``,
  never ``3억 6,051만 5,972원``; a velocity of 27,985,972 a day is ``2,799만원``. Below 1만원
  there is nothing to round to and the won are kept (``9,500원``).
* Every other currency rounds to whole units (half up): ``$12,001``, never ``$12,000.50``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_symbol

from i18n import normalize_locale

_BABEL = {"en": "en_US", "ko": "ko_KR"}
# Currencies written without minor units (ISO 4217 exponent 0).
_NO_MINOR = {"KRW", "JPY", "VND", "CLP", "ISK", "TWD", "HUF"}
EMPTY = "—"
_MAN = Decimal(10_000)


def _babel(locale: str | None) -> Locale:
    """Babel's locale for ours, parsed once: a parse costs about a millisecond, and a
    scheduled run formats thousands of numbers and dates."""
    return _parsed(normalize_locale(locale))


@cache
def _parsed(locale: str) -> Locale:
    return Locale.parse(_BABEL[locale])


def korean_units(n: int) -> str:
    """A non-negative whole number in 조/억/만 units: 120000000 -> '1억 2천만'.

    A number whose last group would follow 억 or 조 directly is written in digits
    (100,001,000, not '1억 1천'): a Korean rep reads '1억 1천' as 1억 1천만, and so does our
    amount parser (commands.values), so the units form would not read back as written."""
    if n == 0:
        return "0"
    if n >= 10**8 and n % 10**4 and (n // 10**4) % 10**4 == 0:
        return f"{n:,}"
    parts = []
    for unit_value, unit in ((10**12, "조"), (10**8, "억"), (10**4, "만"), (1, "")):
        chunk, n = divmod(n, unit_value)
        if unit_value > 1:
            chunk = chunk % 10**4 if unit_value < 10**12 else chunk
        if not chunk:
            continue
        thousands = chunk % 1000 == 0 and chunk < 10**4
        parts.append((f"{chunk // 1000}천" if thousands else f"{chunk:,}") + unit)
    return " ".join(parts)


def money(
    amount: Decimal | int | float | None,
    currency: str,
    locale: str | None = None,
    *,
    summary: bool = False,
) -> str:
    """``amount`` in ``currency`` for ``locale``; ``summary`` rounds it (module docstring)."""
    if amount is None:
        return EMPTY
    if summary and type(amount) is Decimal and amount and amount.is_finite():
        return _summary(amount, currency, locale)
    return _money(amount, currency, locale, summary)


@lru_cache(maxsize=4096)
def _summary(amount: Decimal, currency: str, locale: str | None) -> str:
    """A summary figure, kept: a board writes ~14 and the next request the same ones
    (issue 17). Equal Decimals that differ in exponent round to the same summary; zero
    (whose sign Babel writes) and NaN are never kept."""
    return _money(amount, currency, locale, True)


def _money(amount: Decimal | int | float, currency: str, locale: str | None, summary: bool) -> str:
    amount = Decimal(amount)
    loc = normalize_locale(locale)
    currency = (currency or "KRW").upper()
    if summary:
        amount = summary_amount(amount, currency)
    if currency in _NO_MINOR:
        amount = amount.quantize(Decimal(1), ROUND_HALF_UP)
    if loc == "ko" and currency == "KRW":
        sign = "-" if amount < 0 else ""
        return f"{sign}{korean_units(int(abs(amount)))}원"
    whole = amount == amount.to_integral_value()
    if loc == "ko" and currency == "USD":
        # CLDR writes US$ in Korean; Korean teams write $.
        return format_decimal(amount, "#,##0" if whole else "#,##0.00", locale="ko_KR").join(
            ["$", ""]
        )
    if amount.is_finite() and not amount.is_signed() and amount.as_tuple().exponent >= -2:
        # What Babel writes for these patterns (its symbol, grouped digits), at a tenth of
        # the cost: a digest writes two amounts per deal line (tests/test_fmt_fast.py).
        digits = f"{amount:,.0f}" if whole or currency in _NO_MINOR else f"{amount:,.2f}"
        return _symbol(currency, loc) + digits
    return money_by_babel(amount, currency, loc, whole)


def money_by_babel(amount: Decimal, currency: str, loc: str, whole: bool) -> str:
    fmt = "¤#,##0" if whole or currency in _NO_MINOR else "¤#,##0.00"
    return format_currency(amount, currency, fmt, locale=_babel(loc), currency_digits=False)


@cache
def _symbol(currency: str, loc: str) -> str:
    return get_currency_symbol(currency, locale=_babel(loc))


def summary_amount(amount: Decimal, currency: str) -> Decimal:
    """The rounded value a summary shows: KRW to 만원 (from 1만원 up), others to whole units."""
    if currency.upper() == "KRW" and abs(amount) >= _MAN:
        return (amount / _MAN).quantize(Decimal(1), ROUND_HALF_UP) * _MAN
    return amount.quantize(Decimal(1), ROUND_HALF_UP)


def rate(value: Decimal, currency: str, locale: str | None = None) -> str:
    """An exchange rate in ``currency``, every decimal kept: ``₩1,380``, ``9.25원``."""
    value = Decimal(value).normalize()
    digits = max(0, -value.as_tuple().exponent)
    if not digits:
        return money(value, currency, locale)
    shown = number(value, locale, digits)
    if normalize_locale(locale) == "ko" and currency.upper() == "KRW":
        return f"{shown}원"
    return currency_symbol(currency, locale) + shown


def currency_symbol(currency: str, locale: str | None = None) -> str:
    return get_currency_symbol(currency.upper(), locale=_babel(locale))


def number(value: int | float | Decimal | None, locale: str | None = None, digits: int = 0) -> str:
    if value is None:
        return EMPTY
    if type(value) is int and not digits:
        # What CLDR writes for whole numbers in both languages (grouped by three with ",",
        # "-" before), without Babel's tenth of a millisecond (tests/test_fmt_fast.py).
        return f"{value:,}"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, pattern, locale=_babel(locale))


def percent(value: float | Decimal | None, locale: str | None = None, digits: int = 0) -> str:
    """``value`` is a share (0.8 -> '80%')."""
    if value is None:
        return EMPTY
    return number(Decimal(str(value)) * 100, locale, digits) + "%"


def day(value: date | None, locale: str | None = None) -> str:
    if value is None:
        return EMPTY
    return _day(value, normalize_locale(locale))


@lru_cache(maxsize=4096)
def _day(value: date, locale: str) -> str:
    """Babel's date, kept: a card or a list writes the same few dates again and again, and
    ``format_date`` parses its pattern each time."""
    style = "long" if locale == "ko" else "medium"
    return format_date(value, style, locale=_babel(locale))


def moment(value: datetime | None, tz: str, locale: str | None = None) -> str:
    """To the minute, like the dates beside it (issue 13): ``2026년 12월 3일 오전 11:06``,
    ``Dec 3, 2026, 11:06 AM``: :data:`MOMENT_KO` / :data:`MOMENT_EN` filled in from Babel's
    names directly, as :func:`due` is (``format_datetime`` costs half a millisecond, and a
    card shows eight of them; tests/test_fmt_fast.py holds the two to Babel's)."""
    if value is None:
        return EMPTY
    loc = normalize_locale(locale)
    at = value.astimezone(ZoneInfo(tz))
    _, months, periods = _names(loc)
    hour = f"{at.hour % 12 or 12}:{at.minute:02d}"
    period = periods[at.hour >= 12]
    if loc == "ko":
        return f"{at.year}년 {at.month}월 {at.day}일 {period} {hour}"
    return f"{months[at.month]} {at.day}, {at.year}, {hour} {period}"


def moment_by_babel(value: datetime, tz: str, locale: str | None = None) -> str:
    """:func:`moment` the slow way, through Babel's pattern (what the tests compare with)."""
    pattern = MOMENT_KO if normalize_locale(locale) == "ko" else MOMENT_EN
    return format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=_babel(locale))


MOMENT_KO = "y년 M월 d일 a h:mm"
MOMENT_EN = "MMM d, y, h:mm a"


def local_date(value: datetime, tz: str) -> date:
    return value.astimezone(ZoneInfo(tz)).date()


# --- due times (issue 14) ---------------------------------------------------------------

_DUE_PATTERNS = {"en": "EEE, MMM d, h:mm a", "ko": "M월 d일 (E) a h:mm"}


def due(value: datetime | None, tz: str, locale: str | None = None) -> str:
    """A task's due time, short, with the weekday: ``Fri, Dec 4, 10:00 AM`` /
    ``12월 4일 (금) 오전 10:00``. The year is left out: due times are near.

    The CLDR pattern is :data:`_DUE_PATTERNS` (tests/test_due_times.py checks the two agree);
    it is filled in here from Babel's names directly, because a morning's thousand DMs
    format ten thousand due times and ``format_datetime`` takes half a millisecond each."""
    if value is None:
        return EMPTY
    loc = normalize_locale(locale)
    at = value.astimezone(ZoneInfo(tz))
    days, months, periods = _names(loc)
    hour = f"{at.hour % 12 or 12}:{at.minute:02d}"
    period = periods[at.hour >= 12]
    if loc == "ko":
        return f"{at.month}월 {at.day}일 ({days[at.weekday()]}) {period} {hour}"
    return f"{days[at.weekday()]}, {months[at.month]} {at.day}, {hour} {period}"


@cache
def _names(locale: str) -> tuple[list[str], dict[int, str], tuple[str, str]]:
    """Abbreviated weekday (Monday first) and month names, and the am/pm marks, of Babel."""
    cldr = _babel(locale)
    days = [cldr.days["format"]["abbreviated"][i] for i in range(7)]
    months = dict(cldr.months["format"]["abbreviated"].items())
    marks = cldr.day_periods["format"]["abbreviated"]
    return days, months, (marks["am"], marks["pm"])


def due_by_babel(value: datetime, tz: str, locale: str | None = None) -> str:
    """:func:`due` the slow way, through Babel's pattern (what the tests compare with)."""
    loc = normalize_locale(locale)
    return format_datetime(value, _DUE_PATTERNS[loc], tzinfo=ZoneInfo(tz), locale=_babel(loc))
