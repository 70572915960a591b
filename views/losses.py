"""The lost-reason breakdown (domain.metrics.losses), for /pipeline metrics and the weekly
summary (issue 13)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from domain.metrics.losses import LostReason
from i18n import fmt, t


def lost_reasons(rows: Sequence[LostReason], *, currency: str, locale: str) -> str | None:
    """``*Why deals were lost*`` and one line per reason; None when nothing was lost."""
    return lost_reasons_with(rows, money=lambda v: fmt.money(v, currency, locale), locale=locale)


def lost_reasons_with(
    rows: Sequence[LostReason], *, money: Callable[[Decimal], str], locale: str
) -> str | None:
    """:func:`lost_reasons` with the caller's money formatter (the weekly summary's)."""
    if not rows:
        return None
    lines = [t(locale, "sales.lost.title")]
    for r in rows:
        if r.other:
            reason = t(locale, "sales.lost.other")
        elif not r.reason:
            reason = t(locale, "sales.lost.none_given")
        else:
            reason = r.reason.replace("`", "'").replace("*", "")
        lines.append(
            t(
                locale,
                "sales.lost.line",
                reason=reason,
                count=fmt.number(r.count, locale),
                amount=money(r.amount),
            )
        )
    return "\n".join(lines)
