"""How long the scheduler's computations take on big workspaces (issue 4 acceptance).

    python -m bench.scheduler --url URL --deals 10000,100000,1000000 [--reuse] [--repeat 5]
                              [--json FILE]

Databases per size are prepared exactly as in ``bench.reports`` (``{n}`` templates, ``-N`` /
``_N`` suffixes, filled by ``python -m bench.data`` in a child process; ``--reuse`` keeps one
that already holds TBENCH with N deals). Then each computation is timed ``--repeat`` times after
one untimed warm-up, each run in its own session that is rolled back, at a fixed instant
(the fill's "now", a Monday 09:30 in Seoul is not needed: the jobs are forced), with no Slack:

- ``stall_digest``: what the daily digest job does before the outbox: the sums per owner in
  SQL, the deals it lists, and the Block Kit messages for the channel and every manager's DM
  (:func:`scheduler.jobs.plan_stall_digest`).
- ``weekly_summary``: :func:`domain.weekly.compute` for all 20 pipelines (board, §2
  metrics, forecast, new/lost, movers) plus the Block Kit messages — the figure the target
  is about. ``weekly_charts``: the board PNGs attached to it (matplotlib), shown apart.
- ``stall_warnings``: the hourly job's planning when nothing was warned yet (the worst hour:
  every stalled deal is checked against the outbox, the newest ``MAX_WARNINGS_PER_RUN``
  episodes are rendered).

- ``task_reminders``: the 15-minute job (:func:`scheduler.jobs.plan_task_reminders`) over
  ``--tasks`` open tasks (default 100,000) spread over the 1,000 members, due from 30 days ago
  to 60 days ahead, those due before the last quarter hour already reminded: what a run in a
  steady state reads, renders and marks. ``task_backlog``: the same run when nothing was
  reminded yet (every task due in the 7-day lookback reminds at once), and ``task_morning``:
  the working-morning "today" DM for every owner (next working day, 09:05 local). The tasks
  are added to the filled database once (``ensure_tasks``).

With ``--workspaces N [--per 100] [--processes 1,2]`` it measures the other shape instead:
N small workspaces whose ticks are shared by scheduler processes (:mod:`bench.fleet`).

Targets: both ``stall_digest`` and ``weekly_summary`` under 1 s at 100k deals, growing
linearly (issue 17 asks ``stall_digest`` under 1 s at 1M deals too: printed beside it); ``task_reminders`` under 1 s with 100k open tasks. Output: a table per size, then
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bench.reports import _shown, ensure_filled, peak_rss_mb, url_for
from domain import deal_reads, weekly
from domain.stall import is_business_day
from scheduler import due, jobs
from storage.db import make_engine, normalize_url
from storage.models import Deal, Member, Task, Workspace
from views import notifications as views

TEAM = "TBENCH"
TARGET_MS = 1000


def _workspace(session: Session) -> Workspace:
    ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
    return ws


def _at(session: Session, ws: Workspace) -> datetime:
    """The newest deal's creation: "now" as the fill saw it."""
    latest = session.exec(
        select(sa.func.max(Deal.created_at)).where(Deal.workspace_id == ws.id)
    ).one()
    return latest or datetime.now(UTC)


def stall_digest(session: Session, ws: Workspace, at: datetime) -> dict:
    threads = jobs.plan_stall_digest(session, ws, at, True)
    return {"messages": sum(len(t.messages) for t in threads), "targets": len(threads)}


def _summary(session: Session, ws: Workspace, at: datetime) -> weekly.WeeklySummary:
    start, end = due.week_window(at, ws.timezone)
    return weekly.compute(session=session, workspace=ws, start=start, end=end, now=at)


def weekly_summary(session: Session, ws: Workspace, at: datetime) -> dict:
    summary = _summary(session, ws, at)
    messages = views.weekly_summary(summary=summary, locale=ws.locale)
    return {"pipelines": len(summary.pipelines), "messages": len(messages)}


def weekly_charts(session: Session, ws: Workspace, at: datetime) -> dict:
    summary = _summary(session, ws, at)
    began = time.perf_counter()
    charts = jobs._charts(summary, ws.locale)
    return {"charts": len(charts), "chart_ms": round((time.perf_counter() - began) * 1000, 1)}


def stall_warnings(session: Session, ws: Workspace, at: datetime) -> dict:
    return {"posts": len(jobs.plan_stall_warnings(session, ws, at, True))}


def task_reminders(session: Session, ws: Workspace, at: datetime) -> dict:
    return {"posts": len(jobs.plan_task_reminders(session, ws, at, True))}


def task_backlog(session: Session, ws: Workspace, at: datetime) -> dict:
    """Nothing reminded yet (rolled back with the run): the first run after an outage."""
    window = (Task.due_at > at - due.TASK_LOOKBACK, Task.due_at <= at)
    session.execute(
        sa.update(Task).where(Task.workspace_id == ws.id, *window).values(reminded_due_at=None)
    )
    began = time.perf_counter()
    posts = len(jobs.plan_task_reminders(session, ws, at, True))
    return {"posts": posts, "plan_ms": round((time.perf_counter() - began) * 1000, 1)}


def task_morning(session: Session, ws: Workspace, at: datetime) -> dict:
    return {"posts": len(jobs.morning_dms(session, ws, _working_morning(ws, at)))}


def _working_morning(ws: Workspace, at: datetime) -> datetime:
    """09:05 local on the first working day after ``at``."""
    day = due.local_today(at, ws.timezone) + timedelta(days=1)
    while not is_business_day(day, ws.holiday_country):
        day += timedelta(days=1)
    return datetime.combine(day, dtime(9, 5), tzinfo=ZoneInfo(ws.timezone))


def ensure_tasks(url: str, count: int, out) -> int:
    """Add ``count`` open tasks to TBENCH once (a database that has them is left alone)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ws = _workspace(session)
            have = session.exec(
                select(sa.func.count()).select_from(Task).where(Task.workspace_id == ws.id)
            ).one()
            if have >= count:
                return have
            at = _at(session, ws)
            members = list(session.exec(select(Member.id).where(Member.workspace_id == ws.id)))
            deal_ids = list(
                session.exec(select(Deal.id).where(Deal.workspace_id == ws.id).limit(20_000))
            )
            rng = random.Random(14)
            began = time.perf_counter()
            quarter = at - timedelta(minutes=15)
            for start in range(have, count, 10_000):
                rows = []
                for number in range(start + 1, min(count, start + 10_000) + 1):
                    due_at = at + timedelta(minutes=rng.uniform(-30 * 1440, 60 * 1440))
                    rows.append(
                        {
                            "workspace_id": ws.id,
                            "number": number,
                            "owner_id": rng.choice(members),
                            "deal_id": rng.choice(deal_ids) if rng.random() < 0.6 else None,
                            "kind": rng.choice(("call", "email", "meeting", "todo")),
                            "text": f"Follow up {number}",
                            "due_at": due_at,
                            "status": "open",
                            "reminded_due_at": due_at if due_at <= quarter else None,
                            "created_at": at,
                        }
                    )
                session.execute(sa.insert(Task), rows)
            session.execute(
                sa.update(Workspace).where(Workspace.id == ws.id).values(next_task_number=count)
            )
            session.commit()
            if session.get_bind().dialect.name == "postgresql":
                session.execute(sa.text("ANALYZE task"))
                session.commit()
            took = time.perf_counter() - began
            print(f"added {count - have:,} open tasks in {took:.1f}s", file=out)
            return count
    finally:
        engine.dispose()


def stalled_count(session: Session, ws: Workspace, at: datetime) -> dict:
    rows = deal_reads.stalled_deals(session=session, workspace=ws, now=at)
    items = due.stalled_on(ws, rows, at)
    return {"candidates": len(rows), "stalled": len(items)}


COMPUTATIONS: dict[str, Callable[[Session, Workspace, datetime], dict]] = {
    "stall_digest": stall_digest,
    "weekly_summary": weekly_summary,
    "weekly_charts": weekly_charts,
    "stall_warnings": stall_warnings,
    "task_reminders": task_reminders,
    "task_backlog": task_backlog,
    "task_morning": task_morning,
}
TASK_COMPUTATIONS = ("task_reminders", "task_backlog", "task_morning")


def time_all(url: str, repeat: int, only: list[str]) -> tuple[dict[str, dict], dict]:
    engine = make_engine(url)
    out: dict[str, dict] = {}
    try:
        with Session(engine) as session:
            ws = _workspace(session)
            at = _at(session, ws)
            facts = stalled_count(session, ws, at) | {"at": at.isoformat()}
        for name in only:
            fn = COMPUTATIONS[name]
            runs, info = [], {}
            for _ in range(repeat + 1):
                with Session(engine, expire_on_commit=False) as session:
                    ws = _workspace(session)
                    began = time.perf_counter()
                    info = fn(session, ws, at)
                    runs.append((time.perf_counter() - began) * 1000)
                    session.rollback()
            timed = runs[1:] or runs
            out[name] = {
                "median_ms": round(statistics.median(timed), 1),
                "min_ms": round(min(timed), 1),
                "max_ms": round(max(timed), 1),
                "first_ms": round(runs[0], 1),
                "runs": len(timed),
                **info,
            }
    finally:
        engine.dispose()
    return out, facts


def main(argv: list[str] | None = None, out=sys.stdout) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scheduler", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--deals", default="10000,100000,1000000", help="comma-separated sizes")
    parser.add_argument("--reuse", action="store_true", help="keep a database already of that size")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks for task_*")
    parser.add_argument(
        "--only", help=f"comma-separated computations (default all: {', '.join(COMPUTATIONS)})"
    )
    parser.add_argument(
        "--workspaces",
        type=int,
        help="instead: that many small workspaces, ticked by 1 and 2 processes (bench.fleet)",
    )
    parser.add_argument("--per", type=int, default=100, help="deals per workspace (--workspaces)")
    parser.add_argument("--processes", default="1,2", help="scheduler processes (--workspaces)")
    args = parser.parse_args(argv)
    if args.workspaces:
        from bench import fleet

        counts = [int(n) for n in args.processes.split(",") if n.strip()]
        result = fleet.run(args.url, args.workspaces, args.per, counts, args.reuse, out)
        print(json.dumps(result), file=out)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        return result
    only = [c.strip() for c in args.only.split(",")] if args.only else list(COMPUTATIONS)
    sizes = [int(s.replace("_", "")) for s in args.deals.split(",") if s.strip()]
    dialect = sa.make_url(normalize_url(args.url)).get_backend_name()
    result: dict = {"dialect": dialect, "repeat": args.repeat, "sizes": {}}
    for n in sizes:
        url = url_for(args.url, n, len(sizes) > 1)
        ensure_filled(url, n, reuse=args.reuse, out=out)
        if any(name in TASK_COMPUTATIONS for name in only):
            ensure_tasks(url, args.tasks, out)
        timings, facts = time_all(url, args.repeat, only)
        result["sizes"][str(n)] = {"url": _shown(url), "facts": facts, "timings": timings}
        _table(dialect, n, facts, timings, out)
    _growth(result, out)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result), file=out)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def _table(dialect: str, n: int, facts: dict, timings: dict[str, dict], out) -> None:
    print(
        f"\n{dialect}, {n:,} deals ({facts['stalled']:,} stalled of {facts['candidates']:,} "
        f"candidates)",
        file=out,
    )
    print(f"{'computation':<16}{'median ms':>11}{'min':>9}{'max':>9}{'first':>9}  target", file=out)
    for name, t in timings.items():
        target = ""
        if name in ("stall_digest", "weekly_summary") and n >= 100_000:
            target = "ok" if t["median_ms"] < TARGET_MS * n / 100_000 else "OVER"
        if name == "stall_digest" and n >= 1_000_000:  # issue 17: under 1 s at 1M deals
            target += f"; issue 17 (< 1 s): {'ok' if t['median_ms'] < TARGET_MS else 'OVER'}"
        if name == "task_reminders":
            target = "ok" if t["median_ms"] < TARGET_MS else "OVER"
        if name == "task_backlog":
            target = f"plan {t['plan_ms']:,.0f} ms"
        print(
            f"{name:<16}{t['median_ms']:>11,.1f}{t['min_ms']:>9,.1f}{t['max_ms']:>9,.1f}"
            f"{t['first_ms']:>9,.1f}  {target}",
            file=out,
        )


def _growth(result: dict, out) -> None:
    """Time per 1,000 deals at each size: flat means linear."""
    sizes = sorted(int(n) for n in result["sizes"])
    if len(sizes) < 2:
        return
    print("\nms per 1,000 deals (flat = linear growth)", file=out)
    for name in ("stall_digest", "weekly_summary"):
        if any(name not in result["sizes"][str(n)]["timings"] for n in sizes):
            continue
        per = [result["sizes"][str(n)]["timings"][name]["median_ms"] / (n / 1000) for n in sizes]
        print(f"{name:<16}" + "".join(f"{p:>10.3f}" for p in per), file=out)


if __name__ == "__main__":
    main()
