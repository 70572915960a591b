"""``/deal list`` with two custom-field filters on a big workspace (issue 15, point 1).

    python -m bench.fields --url URL --deals 100000 [--reuse] [--repeat 5] [--json FILE]

Needs workspace TBENCH with N deals (``bench.data``, via :func:`bench.reports.ensure_filled`:
``--reuse`` keeps a database of exactly that size). Then, once per database, it adds two
custom fields to the deals — *Budget* (money) and *Industry* (select: 제조, IT, 금융, 유통,
기타) — and values for most deals (budget on 80 %, log-normal around 5천만원; industry on
90 %), by ``COPY`` / ``executemany`` in chunks, then ``ANALYZE``.

Timed, each ``--repeat`` times after one warm-up in its own session, as the handler runs for a
manager (the whole ``/deal list`` handler: filters read by type, the SQL, the rows, the blocks):

- ``list_two_filters``: ``/deal list budget>=1억 industry:제조``
- ``list_one_filter``: ``/deal list industry:IT``
- ``list_narrow``: ``/deal list budget>=5억 industry:금융 sort:amount``

It prints the query plan of the two-filter WHERE (``EXPLAIN`` on PostgreSQL, ``EXPLAIN QUERY
PLAN`` on SQLite): each filter is a range of ``ix_custom_value_*`` (workspace, field, value…),
never a scan of values. Output: a table (median / min / max / first, ms), the plan, and a JSON
line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time

import sqlalchemy as sa
from sqlmodel import Session, select

from bench.data import Writer, _analyze
from bench.reports import TEAM, _ctx, _shown, ensure_filled
from commands import types as c
from commands.handlers import fields as field_handlers
from commands.handlers import run
from domain import custom_fields as cf
from domain.deal_reads import deal_filters
from storage.db import make_engine, upgrade
from storage.models import CustomValue, Deal, Member, Role, Workspace

INDUSTRIES = ("제조", "IT", "금융", "유통", "기타")
CHUNK = 50_000
LISTS = {
    "list_two_filters": (("budget", ">=", "1억"), ("industry", ":", "제조")),
    "list_one_filter": (("industry", ":", "IT"),),
    "list_narrow": (("budget", ">=", "5억"), ("industry", ":", "금융")),
}


def ensure_fields(engine, out=sys.stdout) -> dict:
    """Budget and Industry on TBENCH's deals, with values; their ids."""
    with Session(engine, expire_on_commit=False) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
        have = {f.key: f.id for f in cf.fields(session=session, workspace_id=ws.id, entity="deals")}
        if {"budget", "industry"} <= set(have):
            return have
        admin = session.exec(
            select(Member).where(Member.workspace_id == ws.id).order_by(Member.id)
        ).first()
        admin.role = Role.admin
        budget = cf.define(session=session, actor=admin, workspace=ws, name="Budget", kind="money")
        industry = cf.define(
            session=session,
            actor=admin,
            workspace=ws,
            name="Industry",
            kind="select",
            options=list(INDUSTRIES),
        )
        session.commit()
        ids = {"budget": budget.id, "industry": industry.id}
        ws_id = ws.id
    started = time.perf_counter()
    written = _values(engine, ws_id, ids)
    _analyze(engine)
    took = time.perf_counter() - started
    print(
        f"custom values: {written:,} rows in {took:.1f} s ({written / took:,.0f} rows/s)", file=out
    )
    return ids


def _values(engine, ws_id: int, ids: dict) -> int:
    rng = random.Random(15)
    written = 0
    with engine.connect() as conn:
        deal_ids = list(
            conn.execute(sa.select(Deal.id).where(Deal.workspace_id == ws_id)).scalars()
        )
        next_id = (conn.execute(sa.select(sa.func.max(CustomValue.id))).scalar() or 0) + 1
        writer = Writer(conn)
        columns = ("id", "workspace_id", "field_id", "record_id", "value_text", "value_number")
        for start in range(0, len(deal_ids), CHUNK):
            rows = []
            for deal_id in deal_ids[start : start + CHUNK]:
                if rng.random() < 0.8:  # hundredths of KRW, log-normal around 50M
                    won = int(math.exp(rng.gauss(math.log(50_000_000), 1.2)) // 10_000 * 10_000)
                    rows.append((next_id, ws_id, ids["budget"], deal_id, "KRW", won * 100))
                    next_id += 1
                if rng.random() < 0.9:
                    rows.append(
                        (next_id, ws_id, ids["industry"], deal_id, rng.choice(INDUSTRIES), None)
                    )
                    next_id += 1
            writer.write("custom_value", columns, rows)
            conn.commit()
            written += len(rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('custom_value', 'id'), "
                "(SELECT max(id) FROM custom_value))"
            )
            conn.commit()
    return written


def explain(session: Session, ws: Workspace, filters, now) -> list[str]:
    """The plan of ``/deal list``'s row query with ``filters`` (``(key, op, raw)``)."""
    extra = tuple(
        field_handlers.field_conditions(session, ws, now.date(), "deals", filters, Deal.id)
    )
    where = deal_filters(session=session, workspace=ws, now=now, extra=extra)
    query = sa.select(Deal.id, Deal.number).where(*where).order_by(Deal.number).limit(20)
    conn = session.connection()
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN" if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    rows = conn.exec_driver_sql(f"{prefix} {compiled}").all()
    return [str(r[0]) if len(r) == 1 else str(r[-1]) for r in rows]


def time_lists(engine, repeat: int) -> tuple[dict, dict]:
    timings: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for name, filters in LISTS.items():
        runs = []
        for _ in range(repeat + 1):
            with Session(engine) as session:
                ctx = _ctx(session)
                started = time.perf_counter()
                outcome = run(c.DealList(custom=filters), ctx)
                runs.append((time.perf_counter() - started) * 1000)
                counts[name] = _total(session, ctx, filters)
                assert outcome.reply is not None
        first, rest = runs[0], runs[1:]
        timings[name] = {
            "median": statistics.median(rest),
            "min": min(rest),
            "max": max(rest),
            "first": first,
        }
    return timings, counts


def _total(session: Session, ctx, filters) -> int:
    extra = tuple(
        field_handlers.field_conditions(
            session, ctx.workspace, ctx.today(), "deals", filters, Deal.id
        )
    )
    where = deal_filters(session=session, workspace=ctx.workspace, now=ctx.now(), extra=extra)
    return session.execute(sa.select(sa.func.count()).select_from(Deal).where(*where)).scalar()


def main(argv: list[str] | None = None, out=sys.stdout) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.fields")
    parser.add_argument("--url", required=True)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep a database already of that size")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the JSON line to this file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ensure_filled(args.url, args.deals, reuse=args.reuse, out=out)
    engine = make_engine(args.url)
    upgrade(engine)
    load = time.perf_counter() - started
    ids = ensure_fields(engine, out=out)
    timings, counts = time_lists(engine, args.repeat)
    with Session(engine) as session:
        ctx = _ctx(session)
        plan = explain(session, ctx.workspace, LISTS["list_two_filters"], ctx.now())
    dialect = engine.dialect.name
    print(f"\n{dialect}, {args.deals:,} deals ({_shown(args.url)}), load {load:.0f} s", file=out)
    print(f"{'list':<20} {'rows':>9} {'median':>9} {'min':>9} {'max':>9} {'first':>9}", file=out)
    for name, t in timings.items():
        print(
            f"{name:<20} {counts[name]:>9,} {t['median']:>9.1f} {t['min']:>9.1f} "
            f"{t['max']:>9.1f} {t['first']:>9.1f}",
            file=out,
        )
    print("\nplan of /deal list budget>=1억 industry:제조:", file=out)
    for line in plan:
        print(f"  {line}", file=out)
    result = {
        "dialect": dialect,
        "deals": args.deals,
        "fields": ids,
        "timings_ms": timings,
        "rows": counts,
        "plan": plan,
    }
    line = json.dumps(result, ensure_ascii=False)
    print(line, file=out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(line + "\n")
    engine.dispose()
    return result


if __name__ == "__main__":
    main()
