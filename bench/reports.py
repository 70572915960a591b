"""How long the reports take on big workspaces.

    python -m bench.reports --url URL --deals 10000,100000,1000000 [--reuse] [--repeat 5]
                            [--json FILE]

For each size N it needs a database holding workspace TBENCH with N deals (``bench.data``):

- ``URL`` with ``{n}`` in it is a template (``sqlite:///bench-{n}.db``,
  ``postgresql://postgres@127.0.0.1/bench_{n}``); without it, one size uses ``URL`` as it is and
  several sizes get ``-N`` appended to the SQLite file name or ``_N`` to the database name.
- A database that already holds TBENCH with exactly N deals is reused with ``--reuse``;
  otherwise it is recreated (SQLite file deleted, PostgreSQL database dropped and created) and
  filled by ``python -m bench.data`` in a child process, so the fill's memory does not count in
  this process's peak RSS.

Then, in this process, each report is timed ``--repeat`` times (after one untimed warm-up run
whose time is shown as ``first``), each run in its own session, as the handlers run for a
manager of the workspace:

- ``board``: ``/pipeline`` (the default pipeline: the biggest one).
- ``metrics``: ``/pipeline metrics`` without the chart (§2 metrics of the default pipeline over
  the last 90 days, rendered to blocks): the figure the 1 s (PostgreSQL) / 2 s (SQLite) target
  is about. ``metrics_all``: the same over all 20 pipelines.
- ``metrics_command``: the whole handler, as the ack waits for it. Its funnel chart is drawn
  later, when it is sent (``Upload.render``); a chart costs about what ``board_png`` does.
- ``forecast``: ``/pipeline forecast`` rendered to blocks; ``forecast_command`` the handler.
- ``plan``: ``/pipeline plan target:1000000000 reps:50`` (measures avg and win rate).
- ``board_png``: the weekly summary's chart alone.

The stall digest and the weekly summary computations are timed by ``bench/scheduler.py``.
Output: one table per size, then one JSON line with every figure and this process's peak RSS
(``ru_maxrss``) after holding the app against the biggest database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from commands import types as c
from commands.context import Ctx
from commands.handlers import run
from domain import metrics as m
from domain.refs import find_pipeline
from storage.db import make_engine, normalize_url
from storage.models import Deal, Member, Role, Workspace
from views import charts
from views import reports as rv

TEAM = "TBENCH"
ROOT = Path(__file__).resolve().parents[1]


# --- databases per size ------------------------------------------------------------------------


def url_for(url: str, n: int, several: bool) -> str:
    if "{n}" in url:
        return url.replace("{n}", str(n))
    if not several:
        return url
    parsed = sa.make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        return f"sqlite:///{path.with_name(f'{path.stem}-{n}{path.suffix}')}"
    return parsed.set(database=f"{parsed.database}_{n}").render_as_string(hide_password=False)


def deal_count(url: str, team: str = TEAM) -> int | None:
    """Deals of ``team`` in the database at ``url``; None when there is no such database/team."""
    parsed = sa.make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database).exists():
        return None
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ws = session.exec(select(Workspace).where(Workspace.team_id == team)).first()
            if ws is None:
                return None
            return session.exec(
                select(sa.func.count()).select_from(Deal).where(Deal.workspace_id == ws.id)
            ).one()
    except sa.exc.OperationalError:  # no database, or no tables yet
        return None
    finally:
        engine.dispose()


def recreate(url: str) -> None:
    """An empty database at ``url`` (the benchmark's own: it is dropped first)."""
    parsed = sa.make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()


def ensure_filled(url: str, n: int, *, reuse: bool, out=sys.stdout) -> dict | None:
    """Make sure ``url`` holds TBENCH with ``n`` deals; the fill's figures when it filled."""
    have = deal_count(url)
    if have == n and reuse:
        print(f"reusing {n:,} deals at {_shown(url)}", file=out)
        return None
    if have is not None:
        recreate(url)
    elif sa.make_url(normalize_url(url)).get_backend_name() == "postgresql":
        _create_if_missing(url)
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "fill.json"
        cmd = [sys.executable, "-m", "bench.data", "--url", url, "--deals", str(n)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        done = subprocess.run(
            [*cmd, "--json", str(figures)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"bench.data failed:\n{done.stdout}\n{done.stderr}")
        for line in done.stdout.splitlines():
            if not line.startswith("{"):
                print(line, file=out)
        return json.loads(figures.read_text())


def _create_if_missing(url: str) -> None:
    parsed = sa.make_url(normalize_url(url))
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": parsed.database}
        ).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()


def _shown(url: str) -> str:
    return sa.make_url(normalize_url(url)).render_as_string(hide_password=True)


# --- the timed reports --------------------------------------------------------------------------


def _ctx(session: Session) -> Ctx:
    ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
    member = session.exec(
        select(Member)
        .where(Member.workspace_id == ws.id, Member.role != Role.rep)
        .order_by(Member.id)
    ).first()
    return Ctx(session=session, workspace=ws, member=member)


def _metrics(ctx: Ctx, pipeline_id: int | None):
    now = ctx.now()
    data = m.metrics(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        start=now - timedelta(days=90),
        end=now,
        now=now,
        pipeline_id=pipeline_id,
    )
    return data


def reports() -> dict[str, Callable[[Ctx], object]]:
    """The timed operations, each one call as a user would cause it."""

    def default_pipeline(ctx: Ctx) -> int:
        return find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=None).id

    def metrics_view(ctx: Ctx, pipeline_id: int | None):
        data = _metrics(ctx, pipeline_id)
        return rv.metrics(data, name="bench", period="90d", currency="KRW", locale="ko")

    def forecast_view(ctx: Ctx):
        rows = m.forecast(
            session=ctx.session,
            workspace_id=ctx.workspace.id,
            by="month",
            now=ctx.now(),
            tz=ctx.workspace.timezone,
            pipeline_id=default_pipeline(ctx),
        )
        return rv.forecast(rows, name="bench", by="month", currency="KRW", locale="ko")

    def board_png(ctx: Ctx):
        board = m.board(
            session=ctx.session,
            workspace_id=ctx.workspace.id,
            pipeline_id=default_pipeline(ctx),
            now=ctx.now(),
        )
        return charts.board_png(board, "ko")

    plan = c.PipelinePlan(target=c.Amount(Decimal(1_000_000_000)), reps=50)
    return {
        "board": lambda ctx: run(c.PipelineBoard(), ctx),
        "metrics": lambda ctx: metrics_view(ctx, default_pipeline(ctx)),
        "metrics_all": lambda ctx: metrics_view(ctx, None),
        "metrics_command": lambda ctx: run(c.PipelineMetrics(), ctx),
        "forecast": forecast_view,
        "forecast_command": lambda ctx: run(c.PipelineForecast(), ctx),
        "plan": lambda ctx: run(plan, ctx),
        "board_png": board_png,
    }


def time_reports(url: str, repeat: int) -> dict[str, dict]:
    engine = make_engine(url)
    out = {}
    try:
        for name, fn in reports().items():
            runs = []
            for _ in range(repeat + 1):
                with Session(engine, expire_on_commit=False) as session:
                    ctx = _ctx(session)
                    began = time.perf_counter()
                    fn(ctx)
                    elapsed = (time.perf_counter() - began) * 1000
                    session.rollback()
                runs.append(elapsed)
            first, timed = runs[0], runs[1:] or runs
            out[name] = {
                "median_ms": round(statistics.median(timed), 1),
                "min_ms": round(min(timed), 1),
                "max_ms": round(max(timed), 1),
                "first_ms": round(first, 1),
                "runs": len(timed),
            }
    finally:
        engine.dispose()
    return out


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None, out=sys.stdout) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--deals", default="10000,100000,1000000", help="comma-separated sizes")
    parser.add_argument("--reuse", action="store_true", help="keep a database already of that size")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.deals.split(",") if s.strip()]
    dialect = sa.make_url(normalize_url(args.url)).get_backend_name()
    result: dict = {"dialect": dialect, "repeat": args.repeat, "sizes": {}}
    for n in sizes:
        url = url_for(args.url, n, len(sizes) > 1)
        fill = ensure_filled(url, n, reuse=args.reuse, out=out)
        timings = time_reports(url, args.repeat)
        result["sizes"][str(n)] = {
            "url": _shown(url),
            "fill": fill
            and {
                "seconds": fill["seconds"],
                "rows_per_second": fill["rows_per_second"],
                "total_rows": fill["total_rows"],
            },
            "timings": timings,
        }
        _table(dialect, n, timings, out)
    result["peak_rss_mb"] = peak_rss_mb()
    print(f"peak RSS of this process: {result['peak_rss_mb']:,} MB", file=out)
    print(json.dumps(result), file=out)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def _table(dialect: str, n: int, timings: dict[str, dict], out) -> None:
    print(f"\n{dialect}, {n:,} deals", file=out)
    print(f"{'report':<18}{'median ms':>11}{'min':>9}{'max':>9}{'first':>9}", file=out)
    for name, t in timings.items():
        print(
            f"{name:<18}{t['median_ms']:>11,.1f}{t['min_ms']:>9,.1f}{t['max_ms']:>9,.1f}{t['first_ms']:>9,.1f}",
            file=out,
        )


if __name__ == "__main__":
    main()
