"""The ideal pipeline size (``/pipeline plan``, docs/metrics.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidInput


@dataclass(frozen=True)
class Plan:
    """docs/metrics.md ideal pipeline size; ``per_rep`` is None when no rep count was given."""

    deals_needed: int
    leads_needed: int
    per_rep: int | None


def plan(
    *,
    target: Decimal,
    avg_deal_size: Decimal | None,
    win_rate: Decimal | None,
    reps: int | None = None,
) -> Plan:
    """docs/metrics.md: deals = target / average deal size; leads = deals / win rate;
    per rep = leads / reps. Each is rounded up to a whole deal or lead.

    100,000,000 / 500,000 / 80 % / 10 reps -> 200 deals, 250 leads, 25 per rep.
    """
    target = Decimal(target)
    if target <= 0:
        raise InvalidInput("reports.plan_bad_target")
    if avg_deal_size is None or Decimal(avg_deal_size) <= 0:
        raise InvalidInput("reports.plan_no_avg")
    if win_rate is None or not 0 < Decimal(win_rate) <= 1:
        raise InvalidInput("reports.plan_no_winrate")
    if reps is not None and reps <= 0:
        raise InvalidInput("reports.plan_bad_reps")
    deals = math.ceil(target / Decimal(avg_deal_size))
    leads = math.ceil(Decimal(deals) / Decimal(win_rate))
    per_rep = math.ceil(Decimal(leads) / reps) if reps else None
    return Plan(deals_needed=deals, leads_needed=leads, per_rep=per_rep)
