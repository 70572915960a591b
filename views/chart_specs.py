"""Charts as JSON specs: what a report showed, stored in the outbox, drawn when sent.

A report's reply is computed in the request; its chart is drawn later by the outbox drainer
(matplotlib takes a few hundred milliseconds, which the ack must not wait for). The spec
carries the very figures the reply showed — the report's result rows, not a query to run
again — so the picture matches the reply, and survives a restart between the two.

``{"chart": "forecast" | "funnel", "rows": [...], "args": {...}}``: ``rows`` are the report's
dataclasses (domain.metrics ``ForecastRow`` / ``StageStat``) with Decimals and dates tagged,
``args`` the chart function's other arguments.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "decimal" in value:
            return Decimal(value["decimal"])
        if "date" in value:
            return date.fromisoformat(value["date"])
    return value


def _rows(items) -> list[dict[str, Any]]:
    return [
        {f.name: _encode(getattr(item, f.name)) for f in dataclasses.fields(item)} for item in items
    ]


def forecast(rows, locale: str, currency: str, by: str, *, name: str | None = None) -> dict:
    """:func:`views.charts.forecast_png`'s arguments; ``name`` titles it (the pipeline)."""
    return {
        "chart": "forecast",
        "rows": _rows(rows),
        "args": {"locale": locale, "currency": currency, "by": by, "name": name},
    }


def funnel(
    stages, locale: str, *, name: str | None = None, owner: str | None = None, period=None
) -> dict[str, Any]:
    """:func:`views.charts.funnel_png`'s arguments: the pipeline, the rep, the period."""
    return {
        "chart": "funnel",
        "rows": _rows(stages),
        "args": {"locale": locale, "name": name, "owner": owner, "period": period},
    }


def render(spec: dict[str, Any]) -> bytes:
    """The PNG a spec describes."""
    from domain import metrics as m
    from views import charts

    kind = spec.get("chart")
    types = {
        "forecast": (m.ForecastRow, charts.forecast_png),
        "funnel": (m.StageStat, charts.funnel_png),
    }
    if kind not in types:
        raise ValueError(f"unknown chart {kind!r}")
    row_type, draw = types[kind]
    rows = [row_type(**{k: _decode(v) for k, v in row.items()}) for row in spec.get("rows", [])]
    return draw(rows, **spec.get("args", {}))
