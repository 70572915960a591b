"""The stall digest's figures (issue 17 point 2): how many deals are stalled, their totals
in the workspace currency, each owner's line and the deals listed one by one — what
:func:`views.notifications.stall_digest_of` renders.

:func:`summarize` folds a list of judged stalled deals in Python: what the scheduler's batch
of small workspaces reads anyway (scheduler.batches), and the fallback of
:func:`scheduler.digest.read`, which asks the database for the same figures without reading
every stalled deal. Money: each deal's amount and weighted amount are converted to the
workspace currency one by one, to the cent (:meth:`domain.money.Conversion.to_base`), then
added up; the totals fold through a :class:`domain.money.Tally` (its note: what was
converted, what was left out for want of a rate).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.money import Conversion, MoneyNote, Tally

if TYPE_CHECKING:
    from domain.deal_reads import Stalled


@dataclass(frozen=True)
class OwnerStalls:
    """One owner's line: how many of their deals are stalled, their amount and weighted
    amount in the workspace currency, and the first of them listed (most overdue first)."""

    owner: str | None  # the owner's Slack id; None: no owner (or none of this workspace)
    count: int
    amount: Decimal
    weighted: Decimal
    shown: list[Stalled] = field(default_factory=list)


@dataclass(frozen=True)
class StallDigest:
    """What the digest shows: totals, the money note, the owners (most overdue amount
    first, no owner last) with the deals listed (at most ``limit`` in all; None: all)."""

    count: int
    total: Decimal
    total_weighted: Decimal
    note: MoneyNote
    owners: list[OwnerStalls]
    limit: int | None


def _room(limit: int | None, count: int) -> int:
    return count if limit is None else limit


def summarize(
    items: Sequence[Stalled],
    groups: Sequence[tuple[str | None, Sequence[Stalled]]],
    conversion: Conversion,
    limit: int | None,
) -> StallDigest:
    """The digest of judged stalled deals ``items`` (most overdue first), owners in the
    order of ``groups`` (:func:`scheduler.due.group_by_owner`, at ``conversion``)."""
    tally = Tally(conversion)
    total = sum(
        (tally.amount(i.deal.amount, i.deal.currency, 1, "listed") for i in items), Decimal(0)
    )
    based: dict[int, tuple[Decimal | None, Decimal | None]] = {}

    def base(i: Stalled) -> tuple[Decimal | None, Decimal | None]:
        key = id(i)
        if key not in based:
            deal = i.deal
            based[key] = (
                conversion.to_base(deal.amount, deal.currency),
                conversion.to_base(deal.weighted, deal.currency),
            )
        return based[key]

    def added(values: Iterable[Decimal | None]) -> Decimal:
        return sum((v for v in values if v is not None), Decimal(0))

    total_weighted = added(base(i)[1] for i in items)
    owners = []
    room = _room(limit, len(items))
    for owner, owned in groups:
        shown = list(owned[:room]) if room > 0 else []
        if room > 0:
            room -= len(owned)
        owners.append(
            OwnerStalls(
                owner,
                len(owned),
                added(base(i)[0] for i in owned),
                added(base(i)[1] for i in owned),
                shown,
            )
        )
    return StallDigest(len(items), total, total_weighted, tally.note(), owners, limit)
