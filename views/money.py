"""What a report's totals are made of, said under the report (domain/money.py has the rule):
which currencies were converted at which workspace rate, and which amounts are left out of
the totals because their currency has no rate, each in its own currency."""

from __future__ import annotations

import copy
from decimal import Decimal

from domain.money import Conversion, MoneyNote
from i18n import fmt, t
from views import blocks as b
from views.message import Message


def rate_text(currency: str, rate: Decimal, base: str, locale: str) -> str:
    """``$1 = ₩1,380`` / ``$1 = 1,380원``: one unit of ``currency`` in ``base``, exact."""
    return f"{fmt.money(1, currency, locale)} = {fmt.rate(rate, base, locale)}"


def rates_line(conversion: Conversion, locale: str) -> str:
    if not conversion.rates:
        return t(locale, "money.no_rates")
    rates = " · ".join(
        rate_text(cur, rate, conversion.base, locale)
        for cur, rate in sorted(conversion.rates.items())
    )
    return t(locale, "money.rates", base=conversion.base, rates=rates)


def note_lines(note: MoneyNote | None, locale: str) -> list[str]:
    """Nothing when every amount was in the workspace currency."""
    if note is None or not note.mixed:
        return []
    lines = []
    if note.converted:
        rates = ", ".join(rate_text(cur, rate, note.base, locale) for cur, rate in note.converted)
        lines.append(t(locale, "money.converted", base=note.base, rates=rates))
    if note.left_out:
        items = []
        for part, cur, count, amount in note.left_out:
            deals = t(locale, "money.deals", count=count)
            shown = fmt.money(amount, cur, locale, summary=True)
            items.append(t(locale, f"money.left_out_{part}", amount=shown, deals=deals))
        first = note.left_out[0][1]
        lines.append(t(locale, "money.left_out", amounts=", ".join(items), currency=first))
    return lines


def with_note(message: Message, note: MoneyNote | None, locale: str) -> Message:
    """``message`` with the note as a last context block (and in its text fallback)."""
    lines = note_lines(note, locale)
    if not lines:
        return message
    blocks = copy.deepcopy(message.blocks)
    if len(blocks) >= b.MESSAGE_BLOCKS:
        blocks = blocks[: b.MESSAGE_BLOCKS - 1]
    blocks.append(b.context(*lines))
    return Message(text=message.text + "\n" + "\n".join(lines), blocks=blocks)
