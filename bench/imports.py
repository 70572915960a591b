"""Import throughput: a Korean-headed CSV of N deals into an empty workspace, then again.

    python -m bench.imports --url sqlite:////tmp/bench-import.db --deals 10000,100000
    python -m bench.imports --url postgresql://postgres@127.0.0.1:5432/bench_import --deals 10000,100000

Each size gets a fresh workspace (``TIMPORT<n>``) in a migrated database (created on
PostgreSQL when missing). Timed separately, each through the same code as ``salesbot
import`` (:mod:`commands.importing`): *read + plan* (decode, map, parse every cell, resolve
owners and stages, look up existing keys), *write* (batches of 5,000, one transaction each),
and a *re-import* of the same file (every row planned as unchanged; nothing written). Prints
a table and a JSON line.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
import uuid

import sqlalchemy as sa
from sqlmodel import Session

from commands.importing import execute, prepare
from domain.clock import SystemClock
from domain.workspaces import get_or_create_member, get_or_create_workspace
from storage.db import make_engine, normalize_url, upgrade

HEADERS = ["외부 ID", "딜 이름", "금액", "단계", "담당자", "회사", "고객", "마감일"]
STAGES = ["Contact", "Qualification", "미팅", "Proposal", "협상", "Won", "Lost"]
AMOUNTS = ["1억 2천만", "759만원", "3,500,000", "$12,000", "2억", "4,800만"]


def csv_of(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for i in range(n):
        writer.writerow(
            [
                f"SF-{i:07d}",
                f"딜 {i} 도입 검토",
                AMOUNTS[i % len(AMOUNTS)],
                STAGES[i % len(STAGES)],
                f"U{i % 50:04d}",
                f"회사 {i % 5000}",
                f"고객 {i % 20000}",
                f"2027. {i % 12 + 1}. {i % 28 + 1}.",
            ]
        )
    return out.getvalue().encode("utf-8")


def _database(url: str):
    url = normalize_url(url)
    if url.startswith("postgresql"):
        target = sa.make_url(url)
        admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
            ).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine


def run(engine, n: int) -> dict:
    team = f"TIMPORT{n}-{uuid.uuid4().hex[:6]}"
    now = SystemClock().now()
    with Session(engine) as session:
        ws = get_or_create_workspace(session=session, team_id=team)
        actor = get_or_create_member(session=session, workspace=ws, slack_user_id="UADMIN")
        session.commit()
        actor_id = actor.id
    data = csv_of(n)
    figures = {"deals": n, "bytes": len(data)}
    for phase in ("first", "again"):
        started = time.perf_counter()
        with Session(engine) as session:
            actor = session.get(type(actor), actor_id)
            prepared = prepare(
                session=session,
                team_id=team,
                entity="deals",
                data=data,
                filename="bench.csv",
                overrides=[],
                actor=actor,
                now=now,
            )
            session.commit()
        planned = time.perf_counter()
        execute(engine, prepared, team_id=team, actor_id=actor_id, now=now, skip_invalid=False)
        done = time.perf_counter()
        assert not prepared.plan.errors
        figures[f"{phase}_plan_s"] = round(planned - started, 2)
        figures[f"{phase}_write_s"] = round(done - planned, 2)
        figures[f"{phase}_total_s"] = round(done - started, 2)
        figures[f"{phase}_rows_per_s"] = round(n / (done - started))
        figures[f"{phase}_created"] = prepared.plan.count("create")
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--deals", default="10000,100000")
    p.add_argument("--json")
    args = p.parse_args()
    engine = _database(args.url)
    results = [run(engine, int(n)) for n in args.deals.split(",")]
    print(f"{engine.dialect.name}")
    print(
        f"{'deals':>8} {'plan s':>8} {'write s':>8} {'total s':>8} {'rows/s':>8} {'re-import s':>12}"
    )
    for r in results:
        print(
            f"{r['deals']:>8} {r['first_plan_s']:>8} {r['first_write_s']:>8} "
            f"{r['first_total_s']:>8} {r['first_rows_per_s']:>8} {r['again_total_s']:>12}"
        )
    line = json.dumps({"db": engine.dialect.name, "results": results})
    print(line)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
