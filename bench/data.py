"""Fill a database with one big, realistic workspace for the benchmarks.

    python -m bench.data --url URL --deals N [--team TBENCH] [--seed 1] [--json FILE]

Runs the Alembic migrations first (:func:`storage.db.upgrade`), then creates workspace TBENCH
with 1,000 members (a few admins and managers, the rest reps), 20 deal pipelines (the two
defaults, 12 more new-business-like ones with their own stage sets, 6 more renewal-like ones),
companies, people, leads, and N deals, each with the stage history and activities that running
the commands would have left:

- deals were created over the last 6 months (uniformly), so the stage history covers it;
- amounts are log-normal in KRW (median about 8 million, a long tail into the billions),
  rounded to 10,000 won and stored as integer hundredths like :class:`storage.types.Money`;
- each deal walks its pipeline: exponential time in each stage (mean close to the stage's
  stall threshold, so a realistic share of open deals is stalled), a chance to be lost at each
  step, a few moves backwards, won from the last open stage; what has not finished by now is
  open where it stands; renewals have a renewal date within the next year and an MRR;
- a few open deals are snoozed; every move is a ``stage_history`` row and an activity; some
  deals have notes; some leads were converted and link to their deal.

It is fast because it bypasses the ORM: rows are generated in chunks and written with the
driver's ``executemany`` (SQLite, one transaction per chunk) or ``COPY`` (PostgreSQL, psycopg
``cursor.copy``), with explicit ids; PostgreSQL's id sequences are moved past them afterwards,
and ``workspace.next_deal_number`` / ``next_lead_number`` are set so the app can keep creating
deals and leads. Finally the statistics are refreshed (``ANALYZE``), as autovacuum would do on
PostgreSQL. The team must not exist yet: use a fresh database (or another ``--team``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import close_counters, counters
from domain.pipelines import refresh_stalled_since
from domain.workspaces import get_or_create_workspace
from storage.db import make_engine, upgrade
from storage.models import Outcome, Pipeline, PipelineKind, Stage, Workspace

TEAM = "TBENCH"
MEMBERS = 1000
HISTORY_DAYS = 182
CHUNK = 20_000

# name, probability, stall days, outcome
NEW_BUSINESS_SETS = [
    [
        ("Contact", 10, 5, "open"),
        ("Demo", 30, 7, "open"),
        ("Trial", 50, 14, "open"),
        ("Proposal", 70, 10, "open"),
        ("Won", 100, None, "won"),
        ("Lost", 0, None, "lost"),
    ],
    [
        ("Discovery", 10, 14, "open"),
        ("Solution design", 25, 21, "open"),
        ("Proposal", 50, 21, "open"),
        ("Legal review", 75, 14, "open"),
        ("Procurement", 90, 10, "open"),
        ("Closed won", 100, None, "won"),
        ("Closed lost", 0, None, "lost"),
    ],
    [
        ("Referral", 20, 10, "open"),
        ("Meeting", 40, 14, "open"),
        ("Negotiation", 70, 14, "open"),
        ("Won", 100, None, "won"),
        ("Lost", 0, None, "lost"),
    ],
    [
        ("리드 접수", 10, 7, "open"),
        ("미팅", 30, 10, "open"),
        ("제안", 60, 14, "open"),
        ("협상", 80, 10, "open"),
        ("성사", 100, None, "won"),
        ("실패", 0, None, "lost"),
    ],
]
RENEWAL_SETS = [
    [
        ("Renewal due", 70, 14, "open"),
        ("Upgraded", 100, None, "won"),
        ("Downgraded", 100, None, "won"),
        ("Renewed", 100, None, "won"),
        ("Churned", 0, None, "lost"),
    ],
    [
        ("Health check", 60, 21, "open"),
        ("Renewal due", 80, 14, "open"),
        ("Renewed", 100, None, "won"),
        ("Churned", 0, None, "lost"),
    ],
]
NEW_BUSINESS_NAMES = [
    "Enterprise — Seoul",
    "SMB — Busan",
    "Inbound",
    "Partner channel",
    "Public sector",
    "Japan",
    "US",
    "Healthcare",
    "Education",
    "Manufacturing",
    "Finance",
    "공공기관",
]
RENEWAL_NAMES = [
    "Renewals — Enterprise",
    "Renewals — SMB",
    "Renewals — Japan",
    "Renewals — US",
    "Renewals — Partners",
    "갱신 — 공공",
]
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = [
    "민수",
    "서연",
    "지훈",
    "하은",
    "도윤",
    "수빈",
    "예준",
    "지우",
    "현우",
    "유진",
    "Alex",
    "Sam",
]
PRODUCTS = ["ERP", "CRM", "HR 시스템", "Cloud", "Analytics", "Security", "POS", "MES", "Support"]
SOURCES = ["webinar", "website", "referral", "event", "outbound", "partner"]


@dataclass
class Stages:
    """One pipeline's stages, as the generator walks them."""

    pipeline_id: int
    renewal: bool
    open: list[tuple[int, int]]  # (stage id, stall days) in order
    won: list[int]
    lost: list[int]

    def progress(self, path: list[tuple[int, datetime]]) -> list[bool]:
        """Per stay of ``path``: did a later stay reach a later stage (what ``move_deal`` marks
        as ``progressed``)? Won outranks every open stage; lost ranks below all."""
        order = {sid: i for i, (sid, _) in enumerate(self.open)}
        ranks = [order.get(sid, len(order) if sid in self.won else -1) for sid, _ in path]
        out, best = [], -2
        for sid, rank in zip(reversed([s for s, _ in path]), reversed(ranks), strict=True):
            out.append(sid in order and best > rank)
            best = max(best, rank)
        return out[::-1]


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


# --- value encoding ---------------------------------------------------------------------------


def _sqlite_dt(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME writes: naive UTC with microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Writer:
    """Bulk rows into one table: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if not self.conn.in_transaction():
            self.conn.begin()  # SQLite: BEGIN IMMEDIATE; both: the commit below then applies
        raw = self.conn.connection.driver_connection
        if self.dialect == "postgresql":
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp,
            ):
                for row in rows:
                    cp.write_row(row)
            return
        rows = [tuple(_sqlite_dt(v) if isinstance(v, datetime) else v for v in r) for r in rows]
        marks = ", ".join("?" * len(columns))
        cur = raw.cursor()
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        cur.close()


DEAL_COLS = (
    "id",
    "workspace_id",
    "number",
    "title",
    "amount",
    "currency",
    "owner_id",
    "company_id",
    "person_id",
    "pipeline_id",
    "stage_id",
    "stage_entered_at",
    "expected_close",
    "renewal_date",
    "mrr",
    "closed_at",
    "lost_reason",
    "snoozed_until",
    "thread_channel",
    "thread_ts",
    "version",
    "created_at",
    "updated_at",
)
HISTORY_COLS = (
    "id",
    "workspace_id",
    "deal_id",
    "from_stage_id",
    "to_stage_id",
    "by_member_id",
    "at",
    "left_at",
    "prev_entry_at",
    "progressed",
)
ACTIVITY_COLS = (
    "id",
    "workspace_id",
    "deal_id",
    "lead_id",
    "kind",
    "text",
    "author_id",
    "slack_ts",
    "at",
)
LEAD_COLS = (
    "id",
    "workspace_id",
    "number",
    "name",
    "status_id",
    "source",
    "email",
    "company_size",
    "owner_id",
    "company_id",
    "person_id",
    "deal_id",
    "status_changed_at",
    "created_at",
)


# --- set-up with the ORM (a few hundred rows) -------------------------------------------------


def _workspace(session: Session, team: str) -> Workspace:
    if session.exec(select(Workspace).where(Workspace.team_id == team)).first() is not None:
        raise SystemExit(f"team {team} already exists here: use a fresh database or another --team")
    ws = get_or_create_workspace(session=session, team_id=team, name="Benchmark Co.")
    ws.digest_channel = "CDIGEST"
    ws.deals_channel = "CDEALS"
    session.add(ws)
    layouts = [
        (n, NEW_BUSINESS_SETS[i % len(NEW_BUSINESS_SETS)]) for i, n in enumerate(NEW_BUSINESS_NAMES)
    ]
    layouts += [(n, RENEWAL_SETS[i % len(RENEWAL_SETS)]) for i, n in enumerate(RENEWAL_NAMES)]
    for position, (name, stages) in enumerate(layouts, start=3):
        pipeline = Pipeline(
            workspace_id=ws.id, name=name, kind=PipelineKind.deal, position=position
        )
        session.add(pipeline)
        session.flush()
        for pos, (stage, prob, stall, outcome) in enumerate(stages, start=1):
            session.add(
                Stage(
                    workspace_id=ws.id,
                    pipeline_id=pipeline.id,
                    name=stage,
                    position=pos,
                    probability=prob,
                    stall_days=stall,
                    outcome=Outcome(outcome),
                )
            )
    session.flush()
    return ws


def _pipelines(session: Session, ws: Workspace) -> tuple[list[Stages], list[float], list[int]]:
    """Deal pipelines with their stages, the share of deals each gets, and the lead statuses."""
    out = []
    for p in session.exec(
        select(Pipeline)
        .where(Pipeline.workspace_id == ws.id)
        .order_by(Pipeline.position, Pipeline.id)
    ):
        stages = list(
            session.exec(select(Stage).where(Stage.pipeline_id == p.id).order_by(Stage.position))
        )
        if p.kind == PipelineKind.lead:
            lead_statuses = [s.id for s in stages]
            continue
        out.append(
            Stages(
                pipeline_id=p.id,
                renewal=any(s.name in ("Churned",) for s in stages),
                open=[(s.id, s.stall_days or 14) for s in stages if s.outcome == Outcome.open],
                won=[s.id for s in stages if s.outcome == Outcome.won],
                lost=[s.id for s in stages if s.outcome == Outcome.lost],
            )
        )
    # The default new-business pipeline carries the most deals, as in real teams.
    weights = [
        30.0 if i == 0 else (8.0 if i == 1 else 62.0 / (len(out) - 2)) for i in range(len(out))
    ]
    return out, weights, lead_statuses


def _next_id(conn: sa.Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar()) + 1


# --- generation ---------------------------------------------------------------------------------


class Generator:
    def __init__(self, *, ws_id: int, now: datetime, seed: int, members: list[int]) -> None:
        self.ws = ws_id
        self.now = now
        self.rng = random.Random(seed)
        self.members = members

    def amount_krw(self) -> int:
        won = math.exp(self.rng.gauss(math.log(8_000_000), 1.1))
        return max(100_000, min(int(won // 10_000) * 10_000, 50_000_000_000))

    def walk(self, p: Stages, created: datetime) -> tuple[list[tuple[int, datetime]], str]:
        """The stage path of one deal up to now: ``[(stage id, entered at)]`` and its outcome."""
        rng = self.rng
        start = 0 if rng.random() < 0.9 else rng.randrange(len(p.open))
        path = [(p.open[start][0], created)]
        index, at = start, created
        while True:
            stall = p.open[index][1]
            at = at + timedelta(days=rng.expovariate(1 / (stall * 1.5)))
            if at >= self.now:
                return path, "open"
            r = rng.random()
            last = index == len(p.open) - 1
            if r < 0.10 or (last and r < 0.35):
                path.append((rng.choice(p.lost), at))
                return path, "lost"
            if last:
                path.append((rng.choice(p.won), at))
                return path, "won"
            if r < 0.20 and index > 0:
                index -= 1  # moved back
            else:
                index += 1
            path.append((p.open[index][0], at))


def fill(
    url: str,
    deals: int,
    *,
    team: str = TEAM,
    seed: int = 1,
    now: datetime | None = None,
    out=sys.stdout,
) -> dict:
    """Fill ``url`` with the benchmark workspace; returns the figures it prints."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    began = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    migrated = time.perf_counter()
    counts = Counts()
    with Session(engine) as session:
        ws = _workspace(session, team)
        pipelines, weights, lead_statuses = _pipelines(session, ws)
        session.commit()
        ws_id = ws.id
    with engine.connect() as conn:
        writer = Writer(conn)
        if writer.dialect == "sqlite":
            conn.connection.driver_connection.execute("PRAGMA synchronous=OFF")
        conn.commit()
        member_ids = _members(conn, writer, ws_id, now, counts)
        companies = max(100, deals // 5)
        people = max(100, deals // 3)
        first_company, first_person = _companies(
            conn, writer, ws_id, companies, people, now, seed, counts
        )
        gen = Generator(ws_id=ws_id, now=now, seed=seed, members=member_ids)
        ids = {t: _next_id(conn, t) for t in ("deal", "stage_history", "activity", "lead")}
        number = int(
            conn.exec_driver_sql(
                f"SELECT next_deal_number FROM workspace WHERE id = {ws_id}"
            ).scalar()
        )
        lead_number = int(
            conn.exec_driver_sql(
                f"SELECT next_lead_number FROM workspace WHERE id = {ws_id}"
            ).scalar()
        )
        rng = gen.rng
        done = 0
        while done < deals:
            n = min(CHUNK, deals - done)
            deal_rows, history, activity, leads = [], [], [], []
            for _ in range(n):
                number += 1
                p = rng.choices(pipelines, weights)[0]
                created = now - timedelta(seconds=rng.uniform(0, HISTORY_DAYS * 86400))
                path, outcome = gen.walk(p, created)
                owner = rng.choice(member_ids)
                company = first_company + rng.randrange(companies)
                person = first_person + rng.randrange(people)
                krw = gen.amount_krw()
                deal_id = ids["deal"]
                ids["deal"] += 1
                prev = None
                entered: dict[int, datetime] = {}  # stage -> the deal's latest entry
                for i, ((stage_id, at), led_on) in enumerate(
                    zip(path, p.progress(path), strict=True)
                ):
                    left = path[i + 1][1] if i + 1 < len(path) else None
                    history.append(
                        (
                            *(ids["stage_history"], ws_id, deal_id, prev, stage_id, owner),
                            *(at, left, entered.get(stage_id), led_on),
                        )
                    )
                    entered[stage_id] = at
                    ids["stage_history"] += 1
                    kind = "created" if prev is None else "moved"
                    activity.append(
                        (ids["activity"], ws_id, deal_id, None, kind, "{}", owner, None, at)
                    )
                    ids["activity"] += 1
                    prev = stage_id
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                    at = created + (now - created) * rng.random()
                    note = json.dumps(
                        {"text": "고객과 통화: 다음 주 데모 일정 확인"}, ensure_ascii=False
                    )
                    activity.append(
                        (ids["activity"], ws_id, deal_id, None, "note", note, owner, None, at)
                    )
                    ids["activity"] += 1
                stage_id, entered = path[-1]
                closed_at = None if outcome == "open" else entered
                if outcome == "open":
                    close = (created + timedelta(days=rng.uniform(20, 150))).date()
                else:
                    close = entered.date()
                renewal = mrr = None
                if p.renewal:
                    renewal = (
                        (now + timedelta(days=rng.uniform(0, 365))).date()
                        if outcome == "open"
                        else close
                    )
                    mrr = krw // 12 * 100
                snoozed = None
                if outcome == "open" and rng.random() < 0.02:
                    snoozed = (now + timedelta(days=rng.randint(1, 10))).date()
                deal_rows.append(
                    (
                        deal_id,
                        ws_id,
                        number,
                        f"{company} {rng.choice(PRODUCTS)} #{number}",
                        krw * 100,
                        "KRW",
                        owner,
                        company,
                        person,
                        p.pipeline_id,
                        stage_id,
                        entered,
                        close,
                        renewal,
                        mrr,
                        closed_at,
                        "budget" if outcome == "lost" and rng.random() < 0.5 else None,
                        snoozed,
                        None,
                        None,
                        len(path) - 1,
                        created,
                        entered,
                    )
                )
                if rng.random() < 0.5:  # half the deals came from a lead
                    lead_number += 1
                    leads.append(
                        _lead(
                            gen,
                            ids,
                            ws_id,
                            lead_number,
                            lead_statuses[-1],
                            owner,
                            company,
                            person,
                            deal_id,
                            created - timedelta(days=rng.uniform(1, 20)),
                        )
                    )
            for _ in range(n // 2):  # and as many leads that did not become a deal (yet)
                lead_number += 1
                at = now - timedelta(seconds=rng.uniform(0, HISTORY_DAYS * 86400))
                status = rng.choice(lead_statuses[:-1] * 3 + lead_statuses[-1:])
                leads.append(
                    _lead(
                        gen,
                        ids,
                        ws_id,
                        lead_number,
                        status,
                        rng.choice(member_ids),
                        first_company + rng.randrange(companies),
                        None,
                        None,
                        at,
                    )
                )
            writer.write("deal", DEAL_COLS, deal_rows)
            writer.write("stage_history", HISTORY_COLS, history)
            writer.write("activity", ACTIVITY_COLS, activity)
            writer.write("lead", LEAD_COLS, leads)
            conn.commit()
            for table, rows in (
                ("deal", deal_rows),
                ("stage_history", history),
                ("activity", activity),
                ("lead", leads),
            ):
                counts.add(table, len(rows))
            done += n
        conn.exec_driver_sql(
            f"UPDATE workspace SET next_deal_number = {number}, next_lead_number = {lead_number} WHERE id = {ws_id}"
        )
        if writer.dialect == "postgresql":
            for table in (
                "member",
                "company",
                "person",
                "deal",
                "stage_history",
                "activity",
                "lead",
            ):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
        conn.commit()
    derive(engine, ws_id)
    loaded = time.perf_counter()
    _analyze(engine)
    engine.dispose()
    finished = time.perf_counter()
    total_rows = sum(counts.rows.values())
    result = {
        "url": sa.make_url(url).render_as_string(hide_password=True),
        "dialect": sa.make_url(url).get_backend_name(),
        "team": team,
        "deals": deals,
        "rows": counts.rows,
        "total_rows": total_rows,
        "seconds": {
            "migrate": round(migrated - began, 3),
            "load": round(loaded - migrated, 3),
            "analyze": round(finished - loaded, 3),
            "total": round(finished - began, 3),
        },
        "rows_per_second": round(total_rows / max(loaded - migrated, 1e-9)),
    }
    _print(result, out)
    return result


def _lead(gen, ids, ws_id, number, status, owner, company, person, deal_id, at):
    lead_id = ids["lead"]
    ids["lead"] += 1
    name = gen.rng.choice(SURNAMES) + gen.rng.choice(GIVEN)
    return (
        lead_id,
        ws_id,
        number,
        name,
        status,
        gen.rng.choice(SOURCES),
        None,
        gen.rng.choice((None, 10, 50, 120, 500, 2000)),
        owner,
        company,
        person,
        deal_id,
        at,
        at,
    )


def _members(conn, writer: Writer, ws_id: int, now: datetime, counts: Counts) -> list[int]:
    first = _next_id(conn, "member")
    rows = []
    for i in range(MEMBERS):
        role = "admin" if i < 3 else ("manager" if i < 30 else "rep")
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + f" {i}"
        rows.append((first + i, ws_id, f"UB{i:05d}", name, role, None, now))
    writer.write(
        "member",
        ("id", "workspace_id", "slack_user_id", "name", "role", "locale", "created_at"),
        rows,
    )
    conn.commit()
    counts.add("member", len(rows))
    return [r[0] for r in rows]


def _companies(
    conn, writer: Writer, ws_id, companies, people, now, seed, counts
) -> tuple[int, int]:
    rng = random.Random(seed + 1)
    first_company, first_person = _next_id(conn, "company"), _next_id(conn, "person")
    rows = [
        (
            first_company + i,
            ws_id,
            f"Company {i:07d}",
            rng.choice((None, 10, 50, 200, 1000, 5000)),
            now,
        )
        for i in range(companies)
    ]
    writer.write("company", ("id", "workspace_id", "name", "employees", "created_at"), rows)
    prows = [
        (
            first_person + i,
            ws_id,
            rng.choice(SURNAMES) + rng.choice(GIVEN),
            f"p{i}@example.com",
            None,
            first_company + rng.randrange(companies),
            now,
        )
        for i in range(people)
    ]
    writer.write(
        "person",
        ("id", "workspace_id", "name", "email", "phone", "company_id", "created_at"),
        prows,
    )
    conn.commit()
    counts.add("company", len(rows))
    counts.add("person", len(prows))
    return first_company, first_person


def derive(engine, ws_id: int) -> None:
    """What the domain keeps beside the deals it writes, for deals written around it: each
    deal's ``stalled_since``, the board counters and the close counters."""
    with Session(engine) as session:
        for stage in session.exec(select(Stage).where(Stage.workspace_id == ws_id)):
            refresh_stalled_since(session, stage)
        counters.rebuild(session, ws_id)
        close_counters.rebuild(session, ws_id)
        session.commit()


def _analyze(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def _print(result: dict, out) -> None:
    print(f"{'table':<16}{'rows':>12}", file=out)
    for table, n in result["rows"].items():
        print(f"{table:<16}{n:>12,}", file=out)
    s = result["seconds"]
    print(
        f"{result['dialect']}: {result['total_rows']:,} rows in {s['load']:.1f} s "
        f"({result['rows_per_second']:,} rows/s); migrate {s['migrate']:.1f} s, "
        f"analyze {s['analyze']:.1f} s",
        file=out,
    )
    print(json.dumps(result), file=out)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m bench.data", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", required=True, help="sqlite:///file.db or postgresql://…")
    parser.add_argument("--deals", type=int, required=True)
    parser.add_argument("--team", default=TEAM)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = fill(args.url, args.deals, team=args.team, seed=args.seed)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
