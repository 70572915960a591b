"""Value parsers shared by the slash-command grammar and modal validation.

Each takes the text as Slack delivered it and returns a typed value, or raises
:class:`InvalidInput` with a ``grammar.*`` key that quotes the offending text.

Forms accepted (the tests in tests/test_values.py are the full list):

* amounts: ``7590000``, ``7,590,000``, ``7.59m``, ``12k``, ``1.2b``, ``759만``, ``759만원``,
  ``1억 2천만``, ``1억2천만원``, ``$12,000``, ``$12,000.50``, ``₩7,590,000``, ``12000 USD``,
  ``5만 달러``. At most two decimals, never negative, below 10^15.
* dates: ``2026-12-31`` (also ``2026.12.31``, ``2026/12/31``, ``2026년 12월 31일``), ``today``,
  ``tomorrow``, ``오늘``, ``내일``, ``모레``, and ``+N`` with a unit, the ``+`` optional: ``d``/``일``
  days, ``w``/``주`` weeks, ``m``/``개월``/``달`` calendar months (Jan 31 + 1m is Feb 28),
  ``y``/``년`` years. ``m`` is months, never minutes: the grammar has no times of day.
* periods: ``90d``, ``this-month``, ``last-month``, ``this-quarter``, ``last-quarter``,
  ``this-year``, ``last-year`` (and 이번달, 지난달, 이번분기, 지난분기, 올해, 작년), ``2026-Q3``,
  ``2026-11``, ``2026``.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

from commands.lexer import plain, shown
from commands.types import Amount, DealRef, LeadRef, Period, UserRef
from domain.errors import InvalidInput

# --- amounts ---------------------------------------------------------------------------

MAX_AMOUNT = Decimal(10) ** 15  # exclusive, as in domain.deals
_NUMBER = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_WESTERN = re.compile(rf"({_NUMBER.pattern})([kmb])?", re.IGNORECASE)
_SCALE = {"k": 10**3, "m": 10**6, "b": 10**9}
_BIG = {"조": 10**12, "억": 10**8, "만": 10**4}
_SMALL = {"천": 1000, "백": 100, "십": 10}
_KOREAN_PIECE = re.compile(r"[0-9][0-9,.]*|\s+|.")
_PREFIXES = (
    ("₩", "KRW"),
    ("￦", "KRW"),
    ("US$", "USD"),
    ("$", "USD"),
    ("USD", "USD"),
    ("KRW", "KRW"),
)
_SUFFIXES = (("원", "KRW"), ("달러", "USD"), ("USD", "USD"), ("KRW", "KRW"))
_INFINITY = Decimal("Infinity")


def parse_amount(text: str) -> Amount:
    """``7,590,000``, ``7.59m``, ``12k``, ``759만원``, ``1억 2천만``, ``$12,000.50`` …

    The currency comes only from a marker (``$``, ``US$``, ``USD``, ``달러``, ``₩``, ``KRW``,
    ``원``): ``759만`` has none and takes the workspace's, ``5만 달러`` is 50,000 USD, and two
    different markers (``$5만원``) are refused rather than guessed.
    """
    raw = plain(text).strip()
    negative = raw.startswith("-")
    body, currency = _split_currency(raw.removeprefix("-").strip())
    if body.startswith("-"):
        negative, body = True, body[1:].strip()
    korean = any(c in _BIG or c in _SMALL for c in body)
    value = _korean_number(body) if korean else _western_number(body)
    if value is None or currency == "conflict":
        raise InvalidInput("grammar.bad_amount", value=shown(text))
    if negative:
        raise InvalidInput("grammar.amount_negative", value=shown(text))
    if value >= MAX_AMOUNT:
        raise InvalidInput("grammar.amount_too_large", value=shown(text))
    if value.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput("grammar.amount_decimals", value=shown(text))
    return Amount(_exact(value), currency)


def _split_currency(text: str) -> tuple[str, str | None]:
    """``₩7,590,000`` -> (``7,590,000``, ``KRW``); two different currencies -> "conflict"."""
    found: set[str] = set()
    for prefix, currency in _PREFIXES:
        if text.upper().startswith(prefix):
            text = text[len(prefix) :].strip()
            found.add(currency)
            break
    for suffix, currency in _SUFFIXES:
        if text.upper().endswith(suffix):
            text = text[: -len(suffix)].strip()
            found.add(currency)
            break
    if len(found) > 1:
        return text, "conflict"
    return text, next(iter(found), None)


def _number(text: str) -> Decimal | None:
    """A plain number with optional thousands commas; absurdly long ones are infinite."""
    if not _NUMBER.fullmatch(text):
        return None
    digits = text.replace(",", "")
    if len(digits.partition(".")[0]) > 18:
        return _INFINITY
    return Decimal(digits)


def _western_number(text: str) -> Decimal | None:
    match = _WESTERN.fullmatch(text)
    if not match:
        return None
    number = _number(match.group(1))
    if number is None:
        return None
    scale = match.group(2)
    return number * _SCALE[scale.lower()] if scale else number


def _korean_number(text: str) -> Decimal | None:
    """``1억 2천만`` -> 120000000. Units must fall: 조 > 억 > 만, and 천 > 백 > 십 within."""
    total = section = Decimal(0)
    number: Decimal | None = None
    last_big = last_small = _INFINITY
    for piece in _KOREAN_PIECE.findall(text):
        if piece.isspace():
            continue
        if piece in _BIG:
            if _BIG[piece] >= last_big:
                return None
            section += number if number is not None else (0 if section else 1)
            total += section * _BIG[piece]
            section, number, last_big, last_small = Decimal(0), None, _BIG[piece], _INFINITY
        elif piece in _SMALL:
            if _SMALL[piece] >= last_small:
                return None
            section += (number if number is not None else 1) * _SMALL[piece]
            number, last_small = None, _SMALL[piece]
        elif number is None and (number := _number(piece)) is not None:
            continue
        else:
            return None
    return total + section + (number or 0)


def _exact(value: Decimal) -> Decimal:
    """Whole amounts without a fractional part; others to the cent (``12000.50``)."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.quantize(Decimal("0.01"))


# --- dates -----------------------------------------------------------------------------

_ISO = re.compile(r"([0-9]{4})([-./])([0-9]{1,2})\2([0-9]{1,2})\.?")
_KOREAN_DATE = re.compile(r"([0-9]{4})년\s*([0-9]{1,2})월\s*([0-9]{1,2})일")
_RELATIVE = re.compile(r"\+?([0-9]{1,4})\s*(d|w|m|y|일|주|개월|달|년)", re.IGNORECASE)
_NAMED_DAYS = {"today": 0, "tomorrow": 1, "오늘": 0, "내일": 1, "모레": 2}
_RELATIVE_UNITS = {"d": "days", "일": "days", "w": "weeks", "주": "weeks"}


def parse_date(text: str, *, today: date) -> date:
    """``2026-12-31``, ``today``, ``tomorrow``, ``+30d``, ``+2w``, ``+3m``, ``오늘``, ``내일``."""
    value = plain(text).strip().lower()
    try:
        result = _absolute_date(value) or _relative_date(value, today)
    except (ValueError, OverflowError):
        result = None
    if result is None:
        raise InvalidInput("grammar.bad_date", value=shown(text))
    return result


def _absolute_date(value: str) -> date | None:
    if match := _ISO.fullmatch(value):
        return date(int(match[1]), int(match[3]), int(match[4]))
    if match := _KOREAN_DATE.fullmatch(value):
        return date(int(match[1]), int(match[2]), int(match[3]))
    return None


def _relative_date(value: str, today: date) -> date | None:
    if value in _NAMED_DAYS:
        return today + timedelta(days=_NAMED_DAYS[value])
    match = _RELATIVE.fullmatch(value)
    if not match:
        return None
    count, unit = int(match[1]), match[2]
    if unit in _RELATIVE_UNITS:
        return today + timedelta(**{_RELATIVE_UNITS[unit]: count})
    months = count * 12 if unit in ("y", "년") else count
    return add_months(today, months)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's end (Jan 31 + 1 -> Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- periods ---------------------------------------------------------------------------

_DAYS = re.compile(r"([0-9]{1,4})d")
_QUARTER = re.compile(r"([0-9]{4})-?q([1-4])")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_YEAR = re.compile(r"[0-9]{4}")
MAX_PERIOD_DAYS = 3650


def parse_period(text: str, *, today: date) -> Period:
    """``90d``, ``this-month``, ``last-month``, ``this-quarter``, ``last-quarter``,
    ``this-year``, ``last-year``, ``2026-Q3``, ``2026-03``, ``2026``."""
    value = re.sub(r"[\s_]+", "-", plain(text).strip().lower())
    try:
        result = _named_period(value, today) or _explicit_period(value)
    except (ValueError, OverflowError):
        result = None
    if result is None:
        raise InvalidInput("grammar.bad_period", value=shown(text))
    return result


_KOREAN_PERIODS = {
    "이번달": "this-month",
    "이번-달": "this-month",
    "지난달": "last-month",
    "지난-달": "last-month",
    "이번분기": "this-quarter",
    "이번-분기": "this-quarter",
    "지난분기": "last-quarter",
    "지난-분기": "last-quarter",
    "올해": "this-year",
    "작년": "last-year",
}


def _named_period(value: str, today: date) -> Period | None:
    quarter = (today.month - 1) // 3 + 1
    value = _KOREAN_PERIODS.get(value, value)
    named = {
        "this-month": lambda: month_period(today.year, today.month),
        "last-month": lambda: month_period(*divmod(today.year * 12 + today.month - 2, 12), 1),
        "this-quarter": lambda: quarter_period(today.year, quarter),
        "last-quarter": lambda: quarter_period(*divmod(today.year * 4 + quarter - 2, 4), 1),
        "this-year": lambda: year_period(today.year),
        "last-year": lambda: year_period(today.year - 1),
    }
    return named[value]() if value in named else None


def _explicit_period(value: str) -> Period | None:
    if match := _DAYS.fullmatch(value):
        days = int(match[1])
        return Period(days=days, label=f"{days}d") if 1 <= days <= MAX_PERIOD_DAYS else None
    if match := _QUARTER.fullmatch(value):
        return quarter_period(int(match[1]), int(match[2]))
    if match := _MONTH.fullmatch(value):
        return month_period(int(match[1]), int(match[2]))
    if _YEAR.fullmatch(value):
        return year_period(int(value))
    return None


def month_period(year: int, month: int, offset: int = 0) -> Period:
    """A calendar month; ``offset`` lets ``divmod`` results (0-based months) pass through."""
    month += offset
    start = date(year, month, 1)
    return Period(start=start, end=add_months(start, 1), label=f"{year}-{month:02d}")


def quarter_period(year: int, quarter: int, offset: int = 0) -> Period:
    quarter += offset
    start = date(year, quarter * 3 - 2, 1)
    return Period(start=start, end=add_months(start, 3), label=f"{year}-Q{quarter}")


def year_period(year: int) -> Period:
    return Period(start=date(year, 1, 1), end=date(year + 1, 1, 1), label=str(year))


# --- people and references -------------------------------------------------------------

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^<>|]*))?>")
_BARE_NAME = re.compile(r"@([^\s@<>|]+)")
_PLAIN_NAME = re.compile(r"[^\s@<>|#]+")
_DEAL_NUMBER = re.compile(r"#?d?([0-9]{1,12})", re.IGNORECASE)
_LEAD_NUMBER = re.compile(r"#?l?([0-9]{1,12})", re.IGNORECASE)


def parse_user(text: str, *, bare: bool = False) -> UserRef:
    """``<@U123ABC|kim>``, ``<@U123ABC>`` or a bare ``@kim``.

    With ``bare`` (after ``owner:``, where nothing else could be meant) ``kim`` is accepted too.
    """
    value = text.strip()
    if match := _MENTION.fullmatch(value):
        return UserRef(slack_id=match[1], name=match[2] or None)
    if match := _BARE_NAME.fullmatch(plain(value)):
        return UserRef(name=match[1])
    if bare and (match := _PLAIN_NAME.fullmatch(plain(value))):
        return UserRef(name=match[0])
    raise InvalidInput("grammar.bad_user", value=shown(plain(text)))


def is_user(text: str) -> bool:
    """Whether a free word is a person (``@kim`` or a Slack mention)."""
    return bool(_MENTION.fullmatch(text.strip()) or _BARE_NAME.fullmatch(plain(text).strip()))


def parse_deal_ref(text: str) -> DealRef:
    """``42``, ``D42``, ``#42`` -> a number; anything else is the start of a title."""
    value = plain(text).strip()
    if not value:
        raise InvalidInput("grammar.missing_deal")
    if match := _DEAL_NUMBER.fullmatch(value):
        return DealRef(number=int(match[1]))
    return DealRef(text=value)


def parse_lead_ref(text: str) -> LeadRef:
    """``7``, ``L7``, ``#7`` -> a number; anything else is the start of a name."""
    value = plain(text).strip()
    if not value:
        raise InvalidInput("grammar.missing_lead")
    if match := _LEAD_NUMBER.fullmatch(value):
        return LeadRef(number=int(match[1]))
    return LeadRef(text=value)


def is_number_ref(text: str) -> bool:
    """Whether a word looks like a deal or lead number (``42``, ``D42``, ``#L7``)."""
    value = plain(text).strip()
    return bool(_DEAL_NUMBER.fullmatch(value) or _LEAD_NUMBER.fullmatch(value))


# --- small numbers ---------------------------------------------------------------------

_WHOLE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,12}")
_SHARE = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,6})?|\.[0-9]{1,6})\s*(%?)")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def parse_count(text: str, *, key: str, maximum: int = 10**9) -> int:
    """A whole number from 0 to ``maximum`` (``1,200`` allowed)."""
    value = plain(text).strip()
    if _WHOLE.fullmatch(value) and int(value.replace(",", "")) <= maximum:
        return int(value.replace(",", ""))
    raise InvalidInput("grammar.bad_number", key=key, value=shown(value))


def parse_reps(text: str) -> int:
    value = plain(text).strip()
    if re.fullmatch(r"[0-9]{1,5}", value) and 1 <= int(value) <= 10_000:
        return int(value)
    raise InvalidInput("grammar.bad_reps", value=shown(value))


def parse_winrate(text: str) -> Decimal:
    """``80%``, ``80`` or ``0.8`` -> ``Decimal("0.8")``; must be in (0, 1]."""
    value = plain(text).strip()
    match = _SHARE.fullmatch(value)
    share = Decimal(match[1]) if match else Decimal(0)
    if match and (match[2] or share > 1):
        share /= 100
    if 0 < share <= 1:
        return share
    raise InvalidInput("grammar.bad_winrate", value=shown(value))


def parse_email(text: str) -> str:
    """An address, also from Slack's ``<mailto:kim@acme.kr|kim@acme.kr>``."""
    value = plain(text).strip()
    if _EMAIL.fullmatch(value):
        return value
    raise InvalidInput("grammar.bad_email", value=shown(value))


# --- lengths ---------------------------------------------------------------------------

# The longest text each kind of value may be, in characters: the size of the column it is
# stored in or compared with (storage/models.py), so a value that passes is never cut short
# or refused by the database, and a search never asks for more than a column can hold.
TEXT_LIMITS = {
    "title": 200,  # deal.title
    "company": 200,  # company.name
    "contact": 200,  # person.name
    "name": 200,  # lead.name
    "email": 320,  # lead.email, person.email
    "source": 100,  # lead.source
    "status": 100,  # a lead status is a stage: stage.name
    "stage": 100,  # stage.name
    "pipeline": 100,  # pipeline.name
    "reason": 500,  # deal.lost_reason
    "note": 3000,  # domain.deals.MAX_NOTE (activity.text holds 4,000)
    "query": 200,  # /deal find: a part of a title or company name
    "deal": 200,  # a deal reference: the start of a title
    "lead": 200,  # a lead reference: the start of a name
    "user": 200,  # member.name (a mention's Slack id is checked by its own pattern)
}


MAX_SLACK_ID = 32  # member.slack_user_id; a mention with a longer id is not a person


def within_limit(value: str, what: str) -> str:
    """``value`` when it is at most ``TEXT_LIMITS[what]`` characters long; otherwise
    InvalidInput ``grammar.too_long.<what>`` saying the limit and the length written."""
    limit = TEXT_LIMITS[what]
    if len(value) > limit:
        raise InvalidInput(f"grammar.too_long.{what}", limit=limit, length=len(value))
    return value
