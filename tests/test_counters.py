"""Board and entry-day counters (domain.counters): after any mix of changes, the counters are exactly what
counting the open deals from scratch gives — through the domain, imports, renewals, the
migration's backfill, and concurrent movers on PostgreSQL — and the board reads them."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from commands.importing import execute, prepare
from domain import counters, deals, metrics, renewals
from domain.errors import InvalidInput
from domain.installs import erase
from domain.pipelines import StageSpec, edit_pipeline
from domain.refs import find_pipeline, stages_of
from storage.db import alembic_config, session_scope, upgrade
from storage.models import BoardCounter, Deal, EntryDayCounter, Member, Outcome, Role
from tests import factories as f

MINUTE = timedelta(minutes=1)


def stored(session) -> dict[tuple, tuple[int, int]]:
    """The counters as kept (rows that went back to zero left out): the board's per currency,
    and the entry-day counters per UTC day of stage entry (count only)."""
    c, d = BoardCounter, EntryDayCounter
    rows = session.execute(
        sa.select(c.workspace_id, c.pipeline_id, c.stage_id, c.currency, c.count, c.amount)
    ).all()
    days = session.execute(sa.select(d.workspace_id, d.pipeline_id, d.stage_id, d.day, d.count))
    return {tuple(r[:4]): (int(r[4]), int(r[5])) for r in rows if r[4] or r[5]} | {
        tuple(r[:4]): (int(r[4]), 0) for r in days if r[4]
    }


def recounted(session) -> dict[tuple, tuple[int, int]]:
    """The counters counted from the deals."""
    rows = session.execute(counters.recount()).all()
    days = session.execute(counters.recount_days()).all()
    return {tuple(r[:4]): (int(r[4]), int(r[5])) for r in rows} | {
        tuple(r[:4]): (int(r[4]), 0) for r in days
    }


def team(session, n_reps: int = 3, **settings):
    ws = f.workspace(session, **settings)
    boss = f.member(session, ws, "UBOSS", Role.admin)
    reps = [f.member(session, ws, f"UREP{i}") for i in range(n_reps)]
    return ws, boss, reps


def random_step(session, rng, ws, boss, made, stages, at) -> None:
    """One random change through the domain: a creation, a move (won, lost and reopened
    among them), an amount change, a currency switch."""
    roll = rng.random()
    if roll < 0.15 or not made:
        currency = rng.choice(["KRW", "KRW", "USD"])
        amount = str(rng.choice([0, 1_000, 5_000_000, 12_345_678]) + rng.randrange(100))
        d = deals.create_deal(
            session=session,
            workspace=ws,
            actor=boss,
            title=f"Deal {len(made)}",
            amount=Decimal(amount) / (100 if currency == "USD" else 1),
            currency=currency,
            stage_text=rng.choice([s.name for s in stages]),
            now=at,
        ).deal
        made.append(d)
        return
    d = rng.choice(made)
    if roll < 0.75:
        target = rng.choice([s for s in stages if s.id != d.stage_id])
        deals.move_deal(session=session, actor=boss, deal=d, stage_id=target.id, now=at)
    elif roll < 0.95:
        amount = Decimal(rng.randrange(0, 10**9)) / 100
        if amount != d.amount:
            deals.set_fields(session=session, actor=boss, deal=d, amount=amount, now=at)
    else:
        switch = "USD" if d.currency == "KRW" else "KRW"
        deals.set_fields(
            session=session,
            actor=boss,
            deal=d,
            amount=Decimal(rng.randrange(1, 10**6)),
            switch_to=switch,
            now=at,
        )


def test_ten_thousand_random_changes_leave_the_counters_as_a_recount(session):
    rng = random.Random(17)
    ws, boss, _ = team(session)
    other, other_boss, _ = team(session, team_id="T2")
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    stages = stages_of(session=session, pipeline_id=pipeline.id)
    other_stages = stages_of(
        session=session,
        pipeline_id=find_pipeline(session=session, workspace_id=other.id, name=None).id,
    )
    made, other_made = [], []
    at = f.T0
    for step in range(10_000):
        at += MINUTE
        if step % 5 == 0:
            random_step(session, rng, other, other_boss, other_made, other_stages, at)
        else:
            random_step(session, rng, ws, boss, made, stages, at)
        if step % 100 == 99:  # a smaller session to flush: 10,000 changes in half the time
            session.commit()
    session.commit()
    assert len(made) > 1000 and any(d.closed_at for d in made)
    assert stored(session) == recounted(session)
    # and the board says what aggregating the deals says, per stage
    board = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=at)
    for s in board.stages:
        in_stage = [d for d in made if d.stage_id == s.stage_id and d.closed_at is None]
        assert s.count == len(in_stage)


def test_the_weighted_amount_follows_a_probability_change(session):
    ws, boss, _ = team(session)
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    f.deal(session, ws, boss, amount="1000000", stage_text="Proposal")
    f.deal(session, ws, boss, amount="3000000", stage_text="Proposal")

    def proposal():
        board = metrics.board(
            session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=f.T0
        )
        return next(s for s in board.stages if s.name == "Proposal")

    before = proposal()
    assert (before.count, before.amount) == (2, Decimal("4000000.00"))
    assert before.weighted == Decimal(4_000_000 * before.probability) / 100
    specs = [
        StageSpec(
            s.name, 90 if s.name == "Proposal" else s.probability, s.stall_days, s.outcome, s.id
        )
        for s in stages_of(session=session, pipeline_id=pipeline.id)
    ]
    edit_pipeline(session=session, actor=boss, pipeline=pipeline, name=pipeline.name, stages=specs)
    after = proposal()
    assert (after.count, after.probability, after.weighted) == (2, 90, Decimal("3600000.00"))


def test_renewals_and_a_workspace_erased_keep_the_counters_true(session):
    ws, boss, _ = team(session)
    won = f.deal(session, ws, boss, amount="12000000")
    deals.close_deal(session=session, actor=boss, deal=won, won=True, now=f.T0 + MINUTE)
    renewal = renewals.create_renewal(session=session, deal=won, now=f.T0 + 2 * MINUTE)
    session.commit()
    assert renewal.closed_at is None
    assert stored(session) == recounted(session)
    assert any(key[2] == renewal.stage_id for key in stored(session))
    erase(session=session, team_id=ws.team_id)
    session.commit()
    assert session.exec(select(BoardCounter)).all() == []


CSV_HEAD = "external id,title,amount,currency,stage\n"


def import_deals(engine, text: str) -> None:
    with Session(engine) as session:
        actor = session.exec(select(Member).where(Member.role == Role.admin)).first()
        prepared = prepare(
            session=session,
            team_id="T1",
            entity="deals",
            data=text.encode(),
            filename="deals.csv",
            overrides=[],
            actor=actor,
            now=f.T0,
        )
        session.commit()
        actor_id = actor.id
    run = execute(
        engine, prepared, team_id="T1", actor_id=actor_id, now=f.T0, skip_invalid=False, batch=7
    )
    assert run.status == "done"


def test_an_import_that_creates_then_changes_amounts_currencies_and_stages(engine):
    with session_scope(engine) as session:
        team(session)
    stages = ["Contact", "Qualification", "Meeting", "Proposal", "Won", "Lost"]
    first = "".join(
        f"X{i},Deal {i},{1000 * i},{'USD' if i % 4 == 0 else 'KRW'},{stages[i % 6]}\n"
        for i in range(40)
    )
    import_deals(engine, CSV_HEAD + first)
    with Session(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Deal)).one() == 40
        assert stored(session) == recounted(session)
    # the same deals again: other amounts, some another currency, some another stage
    again = "".join(
        f"X{i},Deal {i},{777 * i + 1},{'USD' if i % 3 == 0 else 'KRW'},{stages[(i + i % 2) % 6]}\n"
        for i in range(40)
    )
    import_deals(engine, CSV_HEAD + again)
    with Session(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Deal)).one() == 40
        amounts = set(session.exec(select(Deal.amount)))
        assert Decimal(777 * 5 + 1) in amounts  # the update went in
        assert stored(session) == recounted(session)


def test_the_migration_fills_the_counters_and_stalled_since_from_existing_deals(engine):
    with session_scope(engine) as session:
        ws, boss, _ = team(session)
        for i in range(30):
            d = f.deal(
                session, ws, boss, amount=str(1_000 * i), now=f.T0 - timedelta(days=i, hours=i)
            )
            if i % 3:
                deals.move_deal(
                    session=session,
                    actor=boss,
                    deal=d,
                    stage_text=["Meeting", "Won", "Lost", "Proposal"][i % 4],
                    now=f.T0 - timedelta(days=i) + MINUTE,
                )
    with Session(engine) as session:
        kept = stored(session)
        since = dict(session.exec(select(Deal.id, Deal.stalled_since)).all())
    assert kept
    assert None in since.values() and any(v is not None for v in since.values())
    command.downgrade(alembic_config(engine), "0011")
    upgrade(engine)
    with Session(engine) as session:
        assert stored(session) == kept == recounted(session)
        assert dict(session.exec(select(Deal.id, Deal.stalled_since)).all()) == since


@pytest.mark.postgres_only
def test_concurrent_movers_lose_no_update(postgres_db):
    """Six threads, each with its own session, move and re-price random deals of one
    pipeline at once: every change commits (or is refused as "already in that stage" when
    another mover put the deal there after this one read it) (the counter rows are locked in one order, so no
    deadlock) and the counters end exactly as a recount."""
    from storage.db import make_engine

    engine = make_engine(postgres_db)
    with session_scope(engine) as session:
        ws, boss, _ = team(session)
        pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
        stage_ids = [
            s.id
            for s in stages_of(session=session, pipeline_id=pipeline.id)
            if s.outcome == Outcome.open
        ]
        ids = [f.deal(session, ws, boss, title=f"D{i}", amount=str(1000 + i)).id for i in range(60)]
        boss_id = boss.id
    failures: list[BaseException] = []

    def mover(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for k in range(150):
                with session_scope(engine) as session:
                    actor = session.get(Member, boss_id)
                    deal = session.get(Deal, rng.choice(ids))
                    at = f.T0 + timedelta(seconds=seed * 1000 + k)
                    if rng.random() < 0.7:
                        target = rng.choice([s for s in stage_ids if s != deal.stage_id])
                        try:
                            deals.move_deal(
                                session=session, actor=actor, deal=deal, stage_id=target, now=at
                            )
                        except InvalidInput as exc:  # another mover got it there first:
                            if exc.key != "deal.already_in_stage":  # what a rep would be told
                                raise
                    else:
                        deals.set_fields(
                            session=session,
                            actor=actor,
                            deal=deal,
                            amount=Decimal(rng.randrange(1, 10**7)) + Decimal("0.01") * k,
                            now=at,
                        )
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=mover, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with Session(engine) as session:
        assert stored(session) == recounted(session)
        assert sum(n for key, (n, _) in stored(session).items() if isinstance(key[3], str)) == 60
    engine.dispose()


@pytest.mark.parametrize("business", [False, True])
def test_the_boards_stalled_count_is_the_lists_at_every_hour_of_seven_weeks(session, business):
    """Deals entered at odd instants over five weeks (around UTC and Seoul midnights alike),
    moved on, closed, reopened and snoozed through the domain: at a clock every 7 h 13 min
    across seven weeks, each stage's stalled count on the board is the number of deals the
    ``/deal list stalled`` condition finds — the entry-day counters, the cut-off's own day
    and the snoozes add up to exactly that."""
    from zoneinfo import ZoneInfo

    from domain.stall import stalled_condition

    rng = random.Random(20)
    ws, boss, _ = team(session, stall_business_days=business)
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    stages = stages_of(session=session, pipeline_id=pipeline.id)
    start = f.T0 - timedelta(days=35)
    made = []
    for k in range(300):
        at = start + timedelta(
            minutes=rng.randrange(35 * 24 * 60), microseconds=rng.randrange(10**6)
        )
        d = f.deal(session, ws, boss, title=f"D{k}", now=at, stage_text=rng.choice(stages).name)
        made.append((d, at))
    for d, at in made:
        if rng.random() < 0.5:
            target = rng.choice([s for s in stages if s.id != d.stage_id])
            later = at + timedelta(hours=rng.randrange(1, 24 * 20))
            deals.move_deal(session=session, actor=boss, deal=d, stage_id=target.id, now=later)
        if d.closed_at is None and rng.random() < 0.2:
            today = d.stage_entered_at.astimezone(ZoneInfo(ws.timezone)).date()
            if rng.random() < 0.3:  # a date left over from an earlier stage, or the past
                d.snoozed_until = today - timedelta(days=rng.randrange(0, 5))
                session.add(d)
            else:
                until = today + timedelta(days=rng.randrange(1, 30))
                deals.snooze(session=session, actor=boss, deal=d, until=until, today=today, now=at)
    session.flush()
    open_stages = [(s.id, s.stall_days) for s in stages if s.outcome == Outcome.open]
    compared = stalled_seen = 0
    now = start
    while now < f.T0 + timedelta(days=14):
        board = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=now)
        listed = dict(
            session.execute(
                sa.select(Deal.stage_id, sa.func.count())
                .where(
                    Deal.workspace_id == ws.id,
                    Deal.closed_at.is_(None),
                    Deal.pipeline_id == pipeline.id,
                    stalled_condition(open_stages, workspace=ws, now=now),
                )
                .group_by(Deal.stage_id)
            ).all()
        )
        assert {s.stage_id: s.stalled for s in board.stages if s.stalled} == listed, now
        compared += 1
        stalled_seen += sum(listed.values())
        now += timedelta(hours=7, minutes=13)
    assert compared > 150 and stalled_seen > 1000  # many clocks, most with stalled deals


def test_the_boards_stalled_count_reads_counters_and_indexes_not_the_stalled_deals(engine, session):
    """``EXPLAIN`` (PostgreSQL) / ``EXPLAIN QUERY PLAN`` (SQLite) of the board's stalled count
    with 3,000 open deals, most of them stalled and a few snoozed: the entry-day counters,
    the cut-off's day through ``ix_deal_open_stage`` and the snoozes through
    ``ix_deal_snoozed``; never a scan of ``deal``. (bench/README.md has the plan at 1M.)"""
    plan, board = stalled_count_plan(engine, session)
    # The counters are read too (a scan of their few hundred rows is what PostgreSQL prefers
    # at this size; at 1M it reads them by key, bench/README.md).
    assert "entry_day_counter" in plan, plan
    assert "ix_deal_snoozed" in plan, plan
    assert "ix_deal_open_stage" in plan, plan
    assert "Seq Scan on deal" not in plan and "SCAN deal" not in plan.replace(
        "SCAN deal USING", ""
    ), plan
    assert board.stalled > 2000  # most of them: the count did not read them one by one


# ANALYZE's figures for deal's indexes on the 1M-deal bench file (bench.data): each closed
# deal has its own closed_at, so (workspace, closed_at) looks like 2 rows a key although a
# third of the deals are open.
STATS_1M = {
    "ix_deal_open_stage": "1000000 1000000 2 2 1 1 1 1 1 1 1 1 1",
    "ix_deal_snoozed": "6110 306 31 10 1 1",
    "ix_deal_amount": "1000000 1000000 50000 50000 9",
    "ix_deal_pipeline_closed": "1000000 1000000 50000 2 2 2 1 1 1",
    "ix_deal_stalled": "1000000 1000000 2 1",
    "ix_deal_owner": "1000000 1000000 1000 2 1 1",
}


def test_with_the_statistics_of_a_million_deals_sqlite_still_reads_the_snoozes_by_their_index(
    engine, session
):
    """On those statistics SQLite skip-scanned every open deal for the snoozes (60 ms a
    /pipeline at 1M) until the open condition was marked likely (domain.metrics.sql.likely)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner and its sqlite_stat1")
    plan, _ = stalled_count_plan(engine, session, stats=STATS_1M)
    snoozes = plan.splitlines()[-2:]  # the last part of the union and its GROUP BY
    assert any("ix_deal_snoozed" in line for line in snoozes), plan
    assert "ANY(workspace_id)" not in plan, plan


def stalled_count_plan(engine, session, stats: dict[str, str] | None = None):
    """The stalled count's plan over 3,000 open deals (``stats``: sqlite_stat1 figures to
    plan with instead of ANALYZE's), and the board it counts."""
    from datetime import UTC, datetime

    from domain.metrics.boards import _stalled_statement
    from domain.stall import stall_cutoff
    from storage import bulk

    ws, boss, _ = team(session)
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    stages = [s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.stall_days]
    rows = []
    for k in range(3000):
        entered = f.T0 - timedelta(days=k % 90, minutes=k)
        rows.append(
            {"workspace_id": ws.id, "number": 1000 + k, "title": f"D{k}", "amount": 100,
             "currency": "KRW", "pipeline_id": pipeline.id, "stage_id": stages[k % len(stages)].id,
             "stage_entered_at": entered, "closed_at": None, "version": 0,
             "snoozed_until": (f.T0 + timedelta(days=3)).date() if k % 50 == 0 else None,
             "created_at": entered, "updated_at": entered, "qualification": 0}
        )  # fmt: skip
    bulk.insert(session, Deal, rows)
    counters.rebuild(session, ws.id)
    session.commit()
    raw = engine.raw_connection()  # the driver's own: ANALYZE and its statistics committed
    try:
        if engine.dialect.name == "postgresql":
            raw.driver_connection.autocommit = True
        cursor = raw.cursor()
        cursor.execute("ANALYZE")
        for index, stat in (stats or {}).items():
            cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'deal' AND idx = ?", (index,))
            cursor.execute("INSERT INTO sqlite_stat1 VALUES ('deal', ?, ?)", (index, stat))
        raw.commit()
    finally:
        raw.close()
    engine.dispose()  # new connections load the statistics, and plan with them
    now = f.T0
    params = {"workspace_id": ws.id, "p0": pipeline.id, "today": now.date()}
    for i, s in enumerate(stages):
        cut = stall_cutoff(now, s.stall_days)
        params |= {f"s{i}": s.id, f"cut{i}": cut, f"d{i}": cut.date()}
        params[f"lo{i}"] = datetime.combine(cut.date(), datetime.min.time(), tzinfo=UTC)
    postgres = engine.dialect.name == "postgresql"
    stmt = _stalled_statement(len(stages))
    compiled = stmt.compile(dialect=engine.dialect)
    bound = _bound(compiled, params)
    args = tuple(bound[k] for k in compiled.positiontup) if compiled.positional else bound
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(prefix + str(compiled), args))
    board = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=now)
    return plan, board


def _bound(compiled, params: dict) -> dict:
    """The parameters as the driver takes them (the column types' processing applied)."""
    processors = compiled._bind_processors
    return {k: processors[k](v) if k in processors else v for k, v in params.items()}
