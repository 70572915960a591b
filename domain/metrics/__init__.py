"""The metrics engine: the board, docs/metrics.md metrics, the forecast and the plan.

One module per report, this package's names importable as before (``from domain import
metrics as m; m.board(...)``): :mod:`~domain.metrics.boards` (the board),
:mod:`~domain.metrics.rates` (the §2 rates, once, and ``/pipeline metrics``),
:mod:`~domain.metrics.stages` (stage conversion, time in stage, bottleneck),
:mod:`~domain.metrics.forecasts` (forecast, open pipeline), :mod:`~domain.metrics.plans`
(the plan), and :mod:`~domain.metrics.sql` (the SQL helpers they share).

Everything is computed with SQL aggregates (``GROUP BY`` / ``SUM`` / ``COUNT`` / ``AVG``) in the
database; no function here loads every deal into Python, so a workspace with a million deals
costs a handful of grouped queries. Results are small frozen dataclasses the views render.

Conventions shared by every function:

- **Open deal**: ``closed_at IS NULL`` and its stage's outcome is ``open``.
- **Won / lost in a period**: ``start <= closed_at < end`` and the deal's (current) stage outcome is
  ``won`` / ``lost``. Periods are half-open ``[start, end)`` of aware UTC datetimes.
- **Money**: amounts are summed exactly as integer hundredths (:class:`storage.types.Money`).
  Weighted amounts are ``SUM(amount)`` per stage times that stage's probability / 100, so the
  database never multiplies money (exact, and no 64-bit overflow on SQLite). Sums are grouped
  by currency too and folded through a :class:`domain.money.Tally`: every figure is in the
  workspace currency, other currencies converted at the workspace's rates, and an amount
  whose currency has no rate is added to nothing (the tally remembers it for the report's
  note). ₩ and $ are never added as one number.
- **Undefined is None**: a ratio or mean with nothing to measure (no closed deals, no open deals,
  no history) is ``None``, never a ``ZeroDivisionError``; the views render it as ``—``. Counts and
  sums of nothing are ``0``.
- **Days** are calendar days as floats (seconds / 86,400).
"""

from domain.metrics.boards import Board, BoardStage, board
from domain.metrics.forecasts import ForecastRow, forecast, open_pipeline
from domain.metrics.losses import LostReason, lost_reasons, lost_reasons_by_pipeline
from domain.metrics.plans import Plan, plan
from domain.metrics.rates import (
    Metrics,
    RateGroups,
    Rates,
    RepRow,
    WinStats,
    grouped_rates,
    metrics,
    win_stats,
)
from domain.metrics.sql import DAY_SECONDS, ZERO, period_key
from domain.metrics.stages import StageStat, bottlenecks, stage_stats

__all__ = [
    "DAY_SECONDS",
    "ZERO",
    "Board",
    "BoardStage",
    "ForecastRow",
    "LostReason",
    "Metrics",
    "Plan",
    "RateGroups",
    "Rates",
    "RepRow",
    "StageStat",
    "WinStats",
    "board",
    "bottlenecks",
    "forecast",
    "grouped_rates",
    "lost_reasons",
    "lost_reasons_by_pipeline",
    "metrics",
    "open_pipeline",
    "period_key",
    "plan",
    "stage_stats",
    "win_stats",
]
