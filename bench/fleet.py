"""Many small workspaces and the scheduler processes that share them (issue 17, point 4).

    python -m bench.scheduler --url URL --workspaces 10000 --per 100 [--processes 1,2]
                              [--reuse] [--json FILE]

Fills ``URL`` (a database of its own: it is dropped and made again unless ``--reuse`` finds it
filled) with ``--workspaces`` workspaces of ``--per`` deals each, all in Seoul with the digest
at 09:00: a manager and three reps, one pipeline of four open stages (stall thresholds 5, 7,
14 and 10 days) and won/lost, deals whose time in stage is exponential around the threshold
(a realistic share is stalled), half of them with a card. Rows go in with ``COPY``
(PostgreSQL) or ``executemany`` (SQLite) through :class:`bench.data.Writer`; the derived
columns (``stalled_since``, the board counters) are then computed set-wise.

Then, for each process count, the outbox and the job leases are emptied, the stall warnings
of every deal stalled at 08:00 are recorded as sent (the steady state: those were warned in
earlier hours), and two scheduler ticks are timed, each run by that many fresh processes at
once (a ``Ticker`` each, sharing the slots through :mod:`scheduler.leases`; nothing is sent):

- ``09:00``: the daily digest, renewal alerts and morning DMs, with the hourly stall warnings
  (for the deals that stalled since 08:00) and the quarter-hourly task reminders;
- ``10:00``: an ordinary hour: stall warnings and task reminders.

For each: the wall time from the processes' start to the last one's end (the app's import
left out), each process's own CPU seconds for its tick (on a shared machine the honest
figure: wall time there is mostly waiting for a core), and how many workspace jobs each
process planned. Target (issue 17): under 60 s
for a run with one process, close to half with two.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bench.data import Writer, _analyze
from bench.reports import ROOT, _create_if_missing, _shown, recreate
from domain import close_counters, counters
from domain.stall import stalled_since_sql
from storage.db import make_engine, normalize_url, upgrade
from storage.models import (
    Deal,
    Member,
    Pipeline,
    Stage,
    Workspace,
)

# Tuesday 2026-11-03, 08:00 in Seoul: what was stalled then was warned (warned_already).
START = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
TICKS = (("09:00", timedelta(hours=1)), ("10:00", timedelta(hours=2)))
TEAM_PREFIX = "TF"
STAGES = [  # name, probability, stall days, outcome
    ("Contact", 10, 5, "open"),
    ("Demo", 30, 7, "open"),
    ("Proposal", 60, 14, "open"),
    ("Negotiation", 80, 10, "open"),
    ("Won", 100, None, "won"),
    ("Lost", 0, None, "lost"),
]
CHUNK = 2_000  # workspaces per write


def _defaults(table: sa.Table, row: dict) -> dict:
    """``row`` with the Python-side defaults of ``table``'s other columns (COPY knows none)."""
    out = dict(row)
    for column in table.columns:
        if column.name in out or column.default is None:
            continue
        default = column.default
        out[column.name] = default.arg(None) if default.is_callable else default.arg
    return out


def _write(writer: Writer, model, rows: list[dict]) -> None:
    if not rows:
        return
    rows = [_defaults(model.__table__, r) for r in rows]
    columns = tuple(rows[0])
    writer.write(model.__tablename__, columns, [tuple(r[c] for c in columns) for r in rows])


def filled(url: str) -> int | None:
    """Workspaces of the fleet in ``url``; None when there is no such database or fleet."""
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            n = conn.execute(
                sa.select(sa.func.count())
                .select_from(Workspace)
                .where(Workspace.team_id.like(f"{TEAM_PREFIX}%"))
            ).scalar()
        engine.dispose()
        return n
    except sa.exc.SQLAlchemyError:
        return None


def fill(url: str, workspaces: int, per: int, *, seed: int = 17, out=sys.stdout) -> dict:
    began = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(seed)
    now = START
    ids = {"workspace": 1, "member": 1, "pipeline": 1, "stage": 1, "deal": 1}
    rows = {"workspace": 0, "member": 0, "pipeline": 0, "stage": 0, "deal": 0}
    with engine.connect() as conn:
        writer = Writer(conn)
        for first in range(0, workspaces, CHUNK):
            batch: dict[str, list[dict]] = {k: [] for k in rows}
            for i in range(first, min(first + CHUNK, workspaces)):
                ws = ids["workspace"]
                ids["workspace"] += 1
                batch["workspace"].append(
                    {
                        "id": ws,
                        "team_id": f"{TEAM_PREFIX}{i:06d}",
                        "name": f"Fleet {i}",
                        "deals_channel": f"CD{i}",
                        "digest_channel": f"CG{i}",
                        "locale": "ko" if i % 3 else "en",
                        "next_deal_number": per,
                        "created_at": now - timedelta(days=400),
                    }
                )
                members = []
                for k, role in enumerate(("manager", "rep", "rep", "rep")):
                    members.append(ids["member"])
                    batch["member"].append(
                        {
                            "id": ids["member"],
                            "workspace_id": ws,
                            "slack_user_id": f"U{i:06d}{k}",
                            "name": f"Member {k}",
                            "role": role,
                            "task_morning": True,
                        }
                    )
                    ids["member"] += 1
                pipeline = ids["pipeline"]
                ids["pipeline"] += 1
                batch["pipeline"].append(
                    {"id": pipeline, "workspace_id": ws, "name": "Sales", "is_default": True}
                )
                stages = []
                for pos, (name, prob, stall, outcome) in enumerate(STAGES, start=1):
                    stages.append((ids["stage"], stall, outcome))
                    batch["stage"].append(
                        {
                            "id": ids["stage"],
                            "workspace_id": ws,
                            "pipeline_id": pipeline,
                            "name": name,
                            "position": pos,
                            "probability": prob,
                            "stall_days": stall,
                            "outcome": outcome,
                        }
                    )
                    ids["stage"] += 1
                for number in range(1, per + 1):
                    roll = rng.random()
                    stage_id, stall, outcome = (
                        stages[4]
                        if roll < 0.2
                        else stages[5]
                        if roll < 0.3
                        else stages[rng.randrange(4)]
                    )
                    days = rng.expovariate(1 / ((stall or 10) * 0.9))
                    entered = now - timedelta(days=days, seconds=rng.randrange(86400))
                    card = rng.random() < 0.5
                    batch["deal"].append(
                        {
                            "id": ids["deal"],
                            "workspace_id": ws,
                            "number": number,
                            "title": f"Deal {number}",
                            "amount": rng.randrange(1, 5000) * 1_000_000,  # hundredths
                            "currency": "KRW",
                            "owner_id": members[1 + number % 3],
                            "pipeline_id": pipeline,
                            "stage_id": stage_id,
                            "stage_entered_at": entered,
                            "closed_at": entered if outcome != "open" else None,
                            "thread_channel": f"CD{i}" if card else None,
                            "thread_ts": f"1700000000.{ids['deal']:06d}" if card else None,
                            "created_at": entered - timedelta(days=3),
                            "updated_at": entered,
                        }
                    )
                    ids["deal"] += 1
            for name, model in (
                ("workspace", Workspace),
                ("member", Member),
                ("pipeline", Pipeline),
                ("stage", Stage),
                ("deal", Deal),
            ):
                _write(writer, model, batch[name])
                rows[name] += len(batch[name])
            conn.commit()
        if writer.dialect == "postgresql":
            for table in rows:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            conn.commit()
    loaded = time.perf_counter()
    with Session(engine) as session:
        dialect = engine.dialect.name
        session.execute(
            sa.update(Deal)
            .where(Deal.stage_id == Stage.id, Stage.stall_days.is_not(None))
            .values(
                stalled_since=stalled_since_sql(Deal.stage_entered_at, Stage.stall_days, dialect)
            )
        )
        counters.rebuild(session)
        close_counters.rebuild(session)
        session.commit()
    derived = time.perf_counter()
    _analyze(engine)
    engine.dispose()
    result = {
        "rows": rows,
        "seconds": {
            "load": round(loaded - began, 1),
            "derive": round(derived - loaded, 1),
            "total": round(time.perf_counter() - began, 1),
        },
    }
    print(f"filled {_shown(url)}: {rows} in {result['seconds']}", file=out)
    return result


def reset(url: str) -> None:
    """Nothing planned yet: no outbox rows, no leases (the deals stay) — except this week's
    summary and coaching, marked done: a Tuesday's first tick would otherwise catch them up
    for every workspace, which is not what an ordinary hour does (bench.scheduler times the
    weekly summary of a big workspace)."""
    from scheduler import due, jobs, leases

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM outbox")
        conn.exec_driver_sql("DELETE FROM job_lease")
    with Session(engine) as session:
        ids = list(session.execute(sa.select(Workspace.id)).scalars())
        week = due.weekly_period(START, "Asia/Seoul")
        for job in (jobs.WEEKLY_SUMMARY, jobs.PIPELINE_COACH):
            leases.offer(session, [(w, job, week) for w in ids])
            leases.finish(session, job=job, outcomes=[(w, week, None) for w in ids], now=START)
        warned_already(session)
        session.commit()
    engine.dispose()


def warned_already(session: Session) -> int:
    """Record as sent the stall warnings of every deal stalled at ``START`` (08:00): the
    steady state, where the timed ticks warn only about deals that stalled since."""
    from domain.stall import stall_status
    from scheduler import jobs
    from storage import bulk
    from storage.models import Outbox
    from storage.outbox import outbox_key

    rows = session.execute(
        sa.select(
            Deal.id,
            Deal.workspace_id,
            Deal.stage_entered_at,
            Stage.stall_days,
            Member.slack_user_id,
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .join(Member, Member.id == Deal.owner_id)
        .where(Deal.closed_at.is_(None), Deal.stalled_since <= START)
    ).all()
    out = []
    for deal_id, ws, entered, days, owner in rows:
        status = stall_status(
            stage_entered_at=entered,
            stall_days=days,
            snoozed_until=None,
            now=START,
            tz="Asia/Seoul",
        )
        if not status.stalled:
            continue
        period = f"d{deal_id}/{status.episode}"
        for target in ("thread", f"dm:{owner}"):
            out.append(
                {
                    "workspace_id": ws,
                    "deal_id": deal_id,
                    "key": outbox_key(
                        job=jobs.STALL_WARNINGS, workspace_id=ws, target=target, period=period
                    ),
                    "job": jobs.STALL_WARNINGS,
                    "target": target,
                    "period": period,
                    "payload": "{}",
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": START,
                    "created_at": START,
                    "sent_at": START,
                }
            )
    bulk.insert(session, Outbox, out)
    return len(out)


# --- one scheduler process ----------------------------------------------------------------------


class _NoSend:
    def post(self, *a, **k):
        raise AssertionError("the benchmark sends nothing")

    dm_channel = upload = post


def tick(url: str, at: datetime, go: float) -> dict:
    """One process's tick at ``at`` (started at the wall-clock instant ``go``)."""
    from scheduler.runner import Ticker

    engine = make_engine(url)
    ticker = Ticker(engine, _NoSend())
    engine.connect().close()
    time.sleep(max(0.0, go - time.time()))
    began, cpu = time.time(), time.process_time()
    reports = ticker.tick(at, send=False)
    ended, cpu = time.time(), time.process_time() - cpu
    planned: dict[str, int] = {}
    for r in reports:
        planned[r.job] = planned.get(r.job, 0) + r.workspaces
    engine.dispose()
    return {
        "began": began,
        "ended": ended,
        "planned": planned,
        "recorded": sum(r.recorded for r in reports),
        "errors": sum(len(r.errors) for r in reports),
        "cpu_s": round(cpu, 1),
    }


def _run_ticks(url: str, at: datetime, processes: int) -> dict:
    go = time.time() + 4.0  # every process imported and connected by then
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.fleet", url, at.isoformat(), str(go)],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"a scheduler process failed ({p.returncode})")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    began = min(r["began"] for r in results)
    return {
        "wall_s": round(max(r["ended"] for r in results) - began, 1),
        "processes": results,
    }


def run(url: str, workspaces: int, per: int, processes: list[int], reuse: bool, out) -> dict:
    url = normalize_url(url)
    have = filled(url)
    fill_figures = None
    if not (reuse and have == workspaces):
        if have is not None:
            recreate(url)
        elif sa.make_url(url).get_backend_name() == "postgresql":
            _create_if_missing(url)
        fill_figures = fill(url, workspaces, per, out=out)
    else:
        print(f"reusing {workspaces:,} workspaces at {_shown(url)}", file=out)
    result: dict = {"workspaces": workspaces, "per": per, "fill": fill_figures, "runs": {}}
    for n in processes:
        reset(url)
        runs = {}
        for label, offset in TICKS:
            runs[label] = _run_ticks(url, START + offset, n)
            r = runs[label]
            shares = " + ".join(str(sum(p["planned"].values())) for p in r["processes"])
            recorded = sum(p["recorded"] for p in r["processes"])
            errors = sum(p["errors"] for p in r["processes"])
            cpu = " + ".join(f"{p['cpu_s']:.1f}" for p in r["processes"])
            print(
                f"{n} process(es), {label} KST tick: {r['wall_s']:>7.1f} s wall "
                f"(CPU s: {cpu}), workspace jobs {shares}, {recorded:,} posts recorded, "
                f"{errors} errors",
                file=out,
            )
        result["runs"][str(n)] = runs
    return result


if __name__ == "__main__":  # one scheduler process: URL AT GO
    print(json.dumps(tick(sys.argv[1], datetime.fromisoformat(sys.argv[2]), float(sys.argv[3]))))
