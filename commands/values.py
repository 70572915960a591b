"""Value parsers shared by the slash-command grammar and modal validation.

Each takes the text as Slack delivered it and returns a typed value, or raises
:class:`InvalidInput` with a ``grammar.*`` key that quotes the offending text.

Forms accepted (the tests in tests/test_values.py are the full list):

* amounts: ``7590000``, ``7,590,000``, ``7.59m``, ``12k``, ``1.2b``, ``759만``, ``759만원``,
  ``1억 2천만``, ``1억2천만원``, ``$12,000``, ``$12,000.50``, ``₩7,590,000``, ``12000 USD``,
  ``5만 달러``; Hangul numerals ``천오백만원``, ``오백만``, ``삼억``, ``3천오백만``. At most two
  decimals, never negative, below 10^15. A Korean amount is KRW unless another currency is
  written (``5만 달러``). After 억 (조) a group without its own 만 (억) counts 만 (억):
  ``1억5천`` and ``1억5000`` are 150,000,000, marked ``interpreted`` so the reply reads them
  back; ``1억5`` is asked about (:func:`_korean_number` has the rule and why).
* dates: ``2026-12-31`` (also ``2026.12.31``, ``2026. 12. 31.``, ``2026/12/31``, ``20261231``,
  ``2026년 12월 31일``); without a year ``12/31``, ``12.31``, ``12월 31일`` (the next one on or
  after today); ``today``, ``tomorrow``, ``오늘``, ``내일``, ``모레``; ``금요일``, ``이번주
  금요일``, ``다음 주 금요일``, ``friday``, ``next friday``; ``이번 달 말``, ``월말``, ``다음 달
  말``, ``다음달 15일``, ``end of month``, ``eom``; and ``+N`` with a unit, the ``+`` optional:
  ``d``/``일`` days, ``w``/``주`` weeks, ``m``/``개월``/``달`` calendar months (Jan 31 + 1m is
  Feb 28), ``y``/``년`` years. ``m`` is months, never minutes: the grammar has no times of day.
* periods: ``90d``, ``this-month``, ``last-month``, ``this-quarter``, ``last-quarter``,
  ``this-year``, ``last-year`` (and 이번달, 지난달, 이번분기, 지난분기, 올해, 작년), ``2026-Q3``,
  ``2026-11``, ``2026``; ``30일``, ``30일간``, ``최근 30일``, ``지난 30일`` (= ``30d``), ``3개월``,
  ``최근 3개월`` (calendar months up to today)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

from commands.lexer import plain, shown
from commands.types import Amount, DealRef, LeadRef, Period, UserRef
from domain.errors import InvalidInput
from i18n.fmt import korean_units

# --- currencies and exchange rates (issue 13) --------------------------------------------

_CURRENCY_WORDS = {"$": "USD", "US$": "USD", "달러": "USD", "₩": "KRW", "￦": "KRW", "원": "KRW"}
MAX_RATE_DIGITS = 12  # significant digits of an exchange rate


def parse_currency(text: str) -> str:
    """``USD``, ``usd``, ``$``, ``달러``, ``₩``, ``원`` -> an ISO code (three letters)."""
    value = plain(text).strip()
    code = _CURRENCY_WORDS.get(value) or value.upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidInput("money.bad_currency", value=shown(value))
    return code


def parse_rate(text: str) -> tuple[str, Decimal | None]:
    """``USD=1380`` -> ("USD", 1380): one USD is 1,380 of the workspace currency.
    ``USD=none`` (or ``USD=``) removes the rate: ("USD", None)."""
    value = plain(text).strip()
    code, sep, number = value.partition("=")
    number = number.strip().replace(",", "")
    try:
        code = parse_currency(code) if sep else ""
    except InvalidInput:
        code = ""
    if not code:
        raise InvalidInput("money.bad_rate", value=shown(value))
    if number.lower() in ("", "none", "off", "없음", "삭제"):
        return code, None
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", number):
        raise InvalidInput("money.bad_rate", value=shown(value))
    rate = Decimal(number).normalize()
    if rate <= 0 or len(rate.as_tuple().digits) > MAX_RATE_DIGITS:
        raise InvalidInput("money.bad_rate", value=shown(value))
    return code, rate


# --- amounts ---------------------------------------------------------------------------

MAX_AMOUNT = Decimal(10) ** 15  # exclusive, as in domain.deals
_NUMBER = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_WESTERN = re.compile(rf"({_NUMBER.pattern})([kmb])?", re.IGNORECASE)
_SCALE = {"k": 10**3, "m": 10**6, "b": 10**9}
_BIG = {"조": 10**12, "억": 10**8, "만": 10**4}
_SMALL = {"천": 1000, "백": 100, "십": 10}
_HANGUL_DIGITS = {d: i for i, d in enumerate("일이삼사오육칠팔구", start=1)}
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
    """``7,590,000``, ``7.59m``, ``12k``, ``759만원``, ``1억 2천만``, ``천오백만``, ``$12,000.50`` …

    **Currency.** A marker decides (``$``, ``US$``, ``USD``, ``달러``, ``₩``, ``KRW``, ``원``);
    without one, an amount written the Korean way (조/억/만/천/백/십 or Hangul numerals) is
    KRW (docs/concepts.md) and any other takes the workspace's (``currency=None``). So ``759만``
    is 7,590,000 KRW even in a USD workspace, ``5만 달러`` is 50,000 USD, and two different
    markers (``$5만원``) are refused rather than guessed.

    **After 억 and 조** see :func:`_korean_number`: ``1억5천`` is 1억 5천만 (150,000,000), read
    as Korean sellers say it, and ``interpreted`` is set so the reply can confirm it in words.
    """
    raw = plain(text).strip()
    negative = raw.startswith("-")
    body, currency = _split_currency(raw.removeprefix("-").strip())
    if body.startswith("-"):
        negative, body = True, body[1:].strip()
    korean = any(c in _BIG or c in _SMALL or c in _HANGUL_DIGITS for c in body)
    value, interpreted = _korean_number(body, text) if korean else (_western_number(body), False)
    if value is None or currency == "conflict":
        raise InvalidInput("grammar.bad_amount", value=shown(text))
    if negative:
        raise InvalidInput("grammar.amount_negative", value=shown(text))
    if value >= MAX_AMOUNT:
        raise InvalidInput("grammar.amount_too_large", value=shown(text))
    if value.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput("grammar.amount_decimals", value=shown(text))
    if korean and currency is None:
        currency = "KRW"
    return Amount(_exact(value), currency, interpreted)


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


def _korean_number(text: str, written: str) -> tuple[Decimal | None, bool]:
    """``1억 2천만`` -> 120000000; ``천오백만`` -> 15000000; ``1억5천`` -> (150000000, True).

    Digits are Arabic (``1,000만``, ``1.5억``) or Hangul (일 이 삼 사 오 육 칠 팔 구); units
    must fall: 조 > 억 > 만, and 천 > 백 > 십 within each 만-group. ``영``/``공`` are not
    numerals here: nobody writes a zero inside a Korean amount, and alone ``0`` is clearer.

    The rule after 억 and 조 (docs/commands.md): the group written after the last 조 or 억,
    without a big unit of its own, is that unit's next group down, as Korean sellers say it:
    after 억 it counts 만 (``1억5천``, ``1억 5천``, ``3억2천5백``, ``일억오천``, ``1억5000``,
    ``1억 500`` are 1억 5천만, 1억 5천만, 3억 2,500만, 1억 5천만, 1억 5,000만, 1억 500만),
    after 조 it counts 억 (``1조5천`` is 1조 5천억). The second value is True then, so the
    reply reads the amount back. Korean orthography would write the 만-group with its 만
    (``1억 5000만``); a group after 억 that means ones (``1억 5000`` = 100,005,000) is not an
    amount a deal carries, so the 만 reading is the one meant; to record 100,005,000 write
    the digits. Two forms stay refused: a lone digit after 억/조 (``1억5``, ``일억오``) is said
    for 1.5억 as often as it would mean 1억 5만, so ``grammar.amount_ambiguous`` asks which;
    and a group too big for the unit (``1억50000``) or with decimals is not an amount.
    """
    total = section = Decimal(0)
    number: Decimal | None = None
    last_big = last_small = _INFINITY
    bare = True  # the group after the last big unit is one bare digit so far
    for piece in _KOREAN_PIECE.findall(text):
        if piece.isspace():
            continue
        if piece in _BIG:
            if _BIG[piece] >= last_big:
                return None, False
            section += number if number is not None else (0 if section else 1)
            total += section * _BIG[piece]
            section, number, last_big, last_small = Decimal(0), None, _BIG[piece], _INFINITY
            bare = True
        elif piece in _SMALL:
            if _SMALL[piece] >= last_small:
                return None, False
            section += (number if number is not None else 1) * _SMALL[piece]
            number, last_small, bare = None, _SMALL[piece], False
        elif number is None and (number := _digit(piece)) is not None:
            bare = bare and not section and len(piece) == 1
            continue
        else:
            return None, False
    rest = section + (number or 0)
    if not rest or last_big == _INFINITY or last_big <= _BIG["만"] or total >= MAX_AMOUNT:
        return total + rest, False
    # The group after 억 or 조: the next unit down (만 after 억, 억 after 조).
    unit = last_big // _BIG["만"]
    if rest >= _BIG["만"] or rest != rest.to_integral_value():
        return None, False
    if bare:
        one, other = total + rest * unit * 1000, total + rest * unit
        raise InvalidInput(
            "grammar.amount_ambiguous",
            value=shown(written),
            one=korean_units(int(one)),
            other=korean_units(int(other)),
        )
    return total + rest * unit, True


def _digit(piece: str) -> Decimal | None:
    """An Arabic number (``1,000``, ``1.5``) or one Hangul digit (``오``)."""
    if piece in _HANGUL_DIGITS:
        return Decimal(_HANGUL_DIGITS[piece])
    return _number(piece)


def _exact(value: Decimal) -> Decimal:
    """Whole amounts without a fractional part; others to the cent (``12000.50``)."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.quantize(Decimal("0.01"))


# --- dates -----------------------------------------------------------------------------

_ISO = re.compile(r"([0-9]{4})\s*([-./])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,2})\.?")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_KOREAN_DATE = re.compile(r"(?:([0-9]{4})년\s*)?([0-9]{1,2})월\s*([0-9]{1,2})일")
_MONTH_DAY = re.compile(r"([0-9]{1,2})\s*([./])\s*([0-9]{1,2})\.?")
_RELATIVE = re.compile(r"\+?([0-9]{1,4})\s*(d|w|m|y|일|주|개월|달|년)", re.IGNORECASE)
_NAMED_DAYS = {"today": 0, "tomorrow": 1, "오늘": 0, "내일": 1, "모레": 2}
_RELATIVE_UNITS = {"d": "days", "일": "days", "w": "weeks", "주": "weeks"}
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = {
    **{day: i for i, day in enumerate("월화수목금토일")},
    **{name: i for i, name in enumerate(_DAY_NAMES)},
    **{name[:3]: i for i, name in enumerate(_DAY_NAMES)},
}
# Korean forms are matched with the spaces taken out: 다음 주 금요일 = 다음주금요일.
_KOREAN_WEEKDAY = re.compile(
    r"(?:(이번|다음|담)주)?([월화수목금토일])요일|(이번|다음|담)주([월화수목금토일])"
)
_KOREAN_MONTH = re.compile(r"(이번|이|다음|담)달(말일?|([0-9]{1,2})일)|월말")
_ENGLISH_WEEKDAY = re.compile(r"(next )?([a-z]+)")
_MONTH_ENDS = {"eom": 0, "end of month": 0, "end of the month": 0, "end of next month": 1}


def parse_date(text: str, *, today: date) -> date:
    """A day as people write it (module docstring); ``today`` anchors the relative forms.

    A day without a year (``12/31``, ``12.31``, ``12월 31일``) is its next occurrence on or
    after today: close and due dates look forward, so on 2026-11-23 ``1/15`` is 2027-01-15
    and ``11/23`` is today. A day that does not exist in that year (``2/30``, ``2/29`` in 2027)
    is refused, never moved. Weeks run Monday to Sunday, as Korean calendars print them:
    ``이번주 금요일`` is this week's Friday (even if it has passed), ``다음주 금요일`` and
    ``next friday`` the Friday of next week, ``금요일`` / ``friday`` the next Friday on or
    after today. ``이번 달 말``, ``월말``, ``end of month``, ``eom`` are the month's last day,
    ``다음 달 말`` next month's, ``다음달 15일`` the 15th of next month.
    """
    value = " ".join(plain(text).lower().split())
    try:
        result = (
            _absolute_date(value, today)
            or _relative_date(value, today)
            or _named_date(value, today)
        )
    except (ValueError, OverflowError):
        result = None
    if result is None:
        raise InvalidInput("grammar.bad_date", value=shown(text))
    return result


def _absolute_date(value: str, today: date) -> date | None:
    if match := _ISO.fullmatch(value):
        return date(int(match[1]), int(match[3]), int(match[4]))
    if match := _COMPACT.fullmatch(value):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _KOREAN_DATE.fullmatch(value):
        if match[1]:
            return date(int(match[1]), int(match[2]), int(match[3]))
        return _upcoming(int(match[2]), int(match[3]), today)
    if match := _MONTH_DAY.fullmatch(value):
        return _upcoming(int(match[1]), int(match[3]), today)
    return None


def _upcoming(month: int, day: int, today: date) -> date:
    """``month``/``day`` this year if that is today or later, else next year."""
    year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    return date(year, month, day)


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


def _named_date(value: str, today: date) -> date | None:
    """Weekdays and month ends: ``다음주 금요일``, ``이번 달 말``, ``next friday``, ``eom``."""
    compact = value.replace(" ", "")
    monday = today - timedelta(days=today.weekday())
    if match := _KOREAN_WEEKDAY.fullmatch(compact):
        week, day = (match[1], match[2]) if match[2] else (match[3], match[4])
        if week is None:  # 금요일: the next one, today included
            return today + timedelta(days=(_WEEKDAYS[day] - today.weekday()) % 7)
        return monday + timedelta(days=_WEEKDAYS[day] + (0 if week == "이번" else 7))
    if match := _KOREAN_MONTH.fullmatch(compact):
        first = today.replace(day=1)
        if match[1] in ("다음", "담"):
            first = add_months(first, 1)
        if match[3]:
            return first.replace(day=int(match[3]))
        return _month_end(first)
    if value in _MONTH_ENDS:
        return _month_end(add_months(today.replace(day=1), _MONTH_ENDS[value]))
    match = _ENGLISH_WEEKDAY.fullmatch(value)
    if match and match[2] in _WEEKDAYS:
        day = _WEEKDAYS[match[2]]
        if match[1]:
            return monday + timedelta(days=day + 7)
        return today + timedelta(days=(day - today.weekday()) % 7)
    return None


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's end (Jan 31 + 1 -> Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- periods ---------------------------------------------------------------------------

_DAYS = re.compile(r"([0-9]{1,4})d")
# 30일, 30일간, 최근 30일, 지난 30일; 3개월, 최근 3개월, 3달 (spaces are "-" by now).
_KOREAN_SPAN = re.compile(r"(?:(?:최근|지난)-?)?([0-9]{1,4})-?(일|개월|달)(?:-?(?:간|동안))?")
_QUARTER = re.compile(r"([0-9]{4})-?q([1-4])")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_YEAR = re.compile(r"[0-9]{4}")
MAX_PERIOD_DAYS = 3650


def parse_period(text: str, *, today: date) -> Period:
    """``90d``, ``this-month``, ``last-month``, ``this-quarter``, ``last-quarter``,
    ``this-year``, ``last-year``, ``2026-Q3``, ``2026-03``, ``2026``.

    Korean spans: ``30일``, ``30일간``, ``최근 30일``, ``지난 30일`` are ``30d`` (the 30 × 24
    hours before now, as every ``Nd``); ``3개월``, ``최근 3개월``, ``3달`` are calendar months
    ending today: from the same day three months ago (2026-08-23 on 2026-11-23) through today.
    """
    value = re.sub(r"[\s_]+", "-", plain(text).strip().lower())
    try:
        result = _named_period(value, today) or _explicit_period(value, today)
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


def _explicit_period(value: str, today: date) -> Period | None:
    if match := _DAYS.fullmatch(value):
        return _days_period(int(match[1]))
    if match := _KOREAN_SPAN.fullmatch(value):
        count = int(match[1])
        if match[2] == "일":
            return _days_period(count)
        if count < 1:
            return None
        start = add_months(today, -count)
        end = today + timedelta(days=1)
        return Period(start=start, end=end) if 1 <= (end - start).days <= MAX_PERIOD_DAYS else None
    if match := _QUARTER.fullmatch(value):
        return quarter_period(int(match[1]), int(match[2]))
    if match := _MONTH.fullmatch(value):
        return month_period(int(match[1]), int(match[2]))
    if _YEAR.fullmatch(value):
        return year_period(int(value))
    return None


def _days_period(days: int) -> Period | None:
    return Period(days=days, label=f"{days}d") if 1 <= days <= MAX_PERIOD_DAYS else None


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
# A number may carry what Koreans write after it: 번 and a particle (``205번``, ``201을``,
# ``L41번을``, ``42번에``); the number is the same.
_AFTER_NUMBER = r"(?:번)?(?:을|를|은|는|이|가|의|에|에서|로|으로|도|만)?"
_DEAL_NUMBER = re.compile(r"#?d?([0-9]{1,12})" + _AFTER_NUMBER, re.IGNORECASE)
_LEAD_NUMBER = re.compile(r"#?l?([0-9]{1,12})" + _AFTER_NUMBER, re.IGNORECASE)


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
    "task": 1000,  # task.text (issue 14)
}


MAX_SLACK_ID = 32  # member.slack_user_id; a mention with a longer id is not a person


def within_limit(value: str, what: str) -> str:
    """``value`` when it is at most ``TEXT_LIMITS[what]`` characters long; otherwise
    InvalidInput ``grammar.too_long.<what>`` saying the limit and the length written."""
    limit = TEXT_LIMITS[what]
    if len(value) > limit:
        raise InvalidInput(f"grammar.too_long.{what}", limit=limit, length=len(value))
    return value
