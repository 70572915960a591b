"""Money in more than one currency: the workspace's exchange rates and converted totals.

The rule (README "Money in more than one currency"):

- A deal keeps the currency it was written in; every history row keeps its own currency.
- Every total is in the workspace currency. An amount in another currency is converted at the
  rate an admin set (``/pipeline settings rate:USD=1380``: one dollar is 1,380 of the
  workspace currency), and the report says so ("≈, at workspace rates $1 = ₩1,380").
- An amount in a currency without a rate is added to nothing: the report lists it on its own
  line per currency ("not in the totals: $12,000 in 1 deal, no USD rate").

Reports read their sums grouped by currency and fold them through a :class:`Tally`, which
converts and remembers what it converted and what it left out, for the view's note. Amounts
stay integer hundredths (:class:`storage.types.Money`) so the reports' helpers add exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.workspaces import require_admin
from storage.config_version import kept
from storage.models import ExchangeRate, Member, Workspace
from storage.types import from_hundredths


@dataclass(frozen=True)
class Conversion:
    """The workspace currency and its rates (currency -> units of ``base`` per unit)."""

    base: str
    rates: dict[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        currency = (currency or self.base).upper()
        return Decimal(1) if currency == self.base else self.rates.get(currency)

    def to_base(self, amount: Decimal, currency: str) -> Decimal | None:
        """``amount`` of ``currency`` in the base currency, to the cent; None without a rate."""
        rate = self.rate(currency)
        if rate is None:
            return None
        return (Decimal(amount) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def raw_to_base(self, raw: int | None, currency: str) -> int | None:
        """Integer hundredths of ``currency`` as hundredths of the base; None without a rate."""
        rate = self.rate(currency)
        if rate is None:
            return None
        return int((Decimal(raw or 0) * rate).to_integral_value(ROUND_HALF_UP))


#: What a left-out amount was part of, in the order a note lists them.
PARTS = ("open", "new", "won", "lost", "listed")


@dataclass(frozen=True)
class MoneyNote:
    """What a report's totals are made of: ``converted`` currencies (with their rates) and
    ``left_out`` amounts (no rate): (part, currency, deal count, amount in that currency),
    where part is one of :data:`PARTS` (open deals, new, won or lost in the period)."""

    base: str
    converted: tuple[tuple[str, Decimal], ...] = ()
    left_out: tuple[tuple[str, str, int, Decimal], ...] = ()

    @property
    def mixed(self) -> bool:
        return bool(self.converted or self.left_out)


class Tally:
    """Folds per-currency sums into base-currency sums for one report, and remembers.

    A report that reads the same deals twice (the weekly summary's board and its rates both
    see the open deals) records them once: :meth:`only` gives a view of the same tally that
    converts everything but remembers only some parts.
    """

    def __init__(self, conversion: Conversion, parts: tuple[str, ...] = PARTS) -> None:
        self.conversion = conversion
        self.parts = parts
        self._converted: dict[str, Decimal] = {}
        self._left_out: dict[tuple[str, str], list[int]] = {}

    def only(self, *parts: str) -> Tally:
        view = Tally(self.conversion, parts)
        view._converted, view._left_out = self._converted, self._left_out
        return view

    @property
    def base(self) -> str:
        return self.conversion.base

    def raw(self, raw: int | None, currency: str | None, count: int = 0, part: str = "open") -> int:
        """Hundredths in the base currency; 0 (and remembered) when there is no rate."""
        currency = (currency or self.base).upper()
        converted = self.conversion.raw_to_base(raw, currency)
        if converted is None:
            if part in self.parts:
                entry = self._left_out.setdefault((part, currency), [0, 0])
                entry[0] += int(count)
                entry[1] += int(raw or 0)
            return 0
        if currency != self.base and part in self.parts:
            self._converted[currency] = self.conversion.rates[currency]
        return converted

    def rated(self, currency: str | None) -> bool:
        return self.conversion.rate(currency or self.base) is not None

    def amount(
        self, amount: Decimal | None, currency: str | None, count: int = 1, part: str = "open"
    ) -> Decimal:
        """A Decimal amount in the base currency (0 and remembered without a rate)."""
        raw = int((Decimal(amount or 0) * 100).to_integral_value(ROUND_HALF_UP))
        return from_hundredths(self.raw(raw, currency, count, part))

    def note(self) -> MoneyNote:
        left = sorted(self._left_out.items(), key=lambda kv: (PARTS.index(kv[0][0]), kv[0][1]))
        return MoneyNote(
            base=self.base,
            converted=tuple(sorted(self._converted.items())),
            left_out=tuple((part, cur, n, from_hundredths(raw)) for (part, cur), (n, raw) in left),
        )


_RATES = sa.select(ExchangeRate.currency, ExchangeRate.rate).where(
    ExchangeRate.workspace_id == sa.bindparam("workspace_id"),
    ExchangeRate.base == sa.bindparam("base"),
)


def conversion(*, session: Session, workspace_id: int) -> Conversion:
    """The workspace currency and the rates set against it (rates set against a currency the
    workspace no longer uses are kept but not used).

    Kept per ``workspace.config_version`` (:func:`storage.config_version.kept`): a rate set or
    removed, like the workspace currency changed, bumps the version, so the next request of
    any process reads them afresh and every other request reads no rate at all. Every list
    and report asks for them."""
    ws = session.get(Workspace, workspace_id)
    base = (ws.currency if ws else "KRW").upper()

    def load() -> Conversion:
        rows = session.execute(_RATES, {"workspace_id": workspace_id, "base": base}).all()
        # Frozen and shared between threads: the rates dict is never written after this.
        return Conversion(base, {cur: Decimal(rate) for cur, rate in rows})

    if ws is None:
        return load()
    return kept(session, ws, "conversion", load)


def tally(*, session: Session, workspace_id: int) -> Tally:
    return Tally(conversion(session=session, workspace_id=workspace_id))


def set_rates(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    rates: list[tuple[str, Decimal | None]],
    now: datetime,
) -> Conversion:
    """Set (or, with None, remove) rates against the workspace currency; admins only."""
    require_admin(actor)
    base = workspace.currency.upper()
    for code, rate in rates:
        if code == base:
            raise InvalidInput("money.rate_of_base", currency=base)
        row = session.execute(
            sa.select(ExchangeRate).where(
                ExchangeRate.workspace_id == workspace.id,
                ExchangeRate.base == base,
                ExchangeRate.currency == code,
            )
        ).scalar_one_or_none()
        if rate is None:
            if row is not None:
                session.delete(row)
            continue
        row = row or ExchangeRate(workspace_id=workspace.id, base=base, currency=code, rate="1")
        row.rate = format(rate, "f")
        row.set_by_id = actor.id
        row.updated_at = now
        session.add(row)
    session.flush()
    return conversion(session=session, workspace_id=workspace.id)
