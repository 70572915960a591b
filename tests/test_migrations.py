"""Migrations: the schema they build is the models' schema, and 0002's backfill agrees with
what moving deals writes."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

from domain import deals
from storage.db import alembic_config, current_revision, upgrade
from storage.models import Role, StageHistory
from tests import factories as f

DAY = timedelta(days=1)


def test_the_migrated_schema_is_the_models_schema(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def _journeys(session):
    """Deals that went forward, backward, to won, to lost, and were reopened."""
    ws = f.workspace(session)
    boss = f.member(session, ws, "UBOSS", Role.admin)

    def move(d, stage, days):
        deals.move_deal(
            session=session, actor=boss, deal=d, stage_text=stage, now=f.T0 + days * DAY
        )

    a = f.deal(session, ws, boss, title="forward and back")
    move(a, "Meeting", 1)
    move(a, "Qualification", 2)  # backwards...
    move(a, "Proposal", 3)  # ...then past Meeting after all: every earlier stay led on
    back = f.deal(session, ws, boss, title="back where it began")
    move(back, "Meeting", 1)
    move(back, "Contact", 2)  # Meeting led nowhere
    b = f.deal(session, ws, boss, title="won straight away")
    move(b, "Won", 1)
    c = f.deal(session, ws, boss, title="lost, then reopened")
    move(c, "Qualification", 1)
    move(c, "Lost", 2)
    move(c, "Contact", 3)
    f.deal(session, ws, boss, title="untouched")
    session.commit()


def _stays(engine):
    with Session(engine) as session:
        rows = session.exec(select(StageHistory).order_by(StageHistory.id)).all()
        return [
            (r.deal_id, r.to_stage_id, r.at, r.left_at, r.progressed, r.prev_entry_at) for r in rows
        ]


def test_moves_record_when_each_stay_ended_and_whether_it_led_on(engine):
    with Session(engine) as session:
        _journeys(session)
    stays = _stays(engine)
    at = {d: [s for s in stays if s[0] == d] for d in {s[0] for s in stays}}
    forward, back, won, reopened, untouched = (at[d] for d in sorted(at))
    # Each stay ends when the next begins; the current one is open-ended.
    for journey in at.values():
        assert [s[3] for s in journey] == [s[2] for s in journey[1:]] + [None]
    assert [s[4] for s in forward] == [True, True, True, False]  # Contact Meeting Qual Proposal
    assert [s[4] for s in back] == [True, False, False]  # Contact Meeting Contact
    assert [s[4] for s in won] == [True, False]
    assert [s[4] for s in reopened] == [True, False, False, False]  # Contact led to Qualification
    assert [s[4] for s in untouched] == [False]
    # A stay points back at the deal's previous entry into the same stage.
    assert [s[5] for s in back] == [None, None, back[0][2]]  # Contact Meeting Contact
    assert [s[5] for s in forward] == [None, None, None, None]


def test_migration_0002_fills_in_the_stays_moves_would_have_written(engine):
    with Session(engine) as session:
        _journeys(session)
    written = _stays(engine)
    config = alembic_config(engine)
    command.downgrade(config, "0001")
    try:
        assert current_revision(engine) == "0001"
    finally:
        upgrade(engine)
    assert current_revision(engine) == _head(config)
    assert _stays(engine) == written


def _head(config) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config).get_current_head()


def test_a_rebuilt_index_gets_planner_statistics_where_the_database_has_them(engine):
    """SQLite takes an index without statistics for very selective; 0003 rebuilds
    ix_deal_owner, so it analyzes it when the other indexes have statistics, and PostgreSQL
    gets dependency statistics for stage → pipeline (0004)."""
    with Session(engine) as session:
        _journeys(session)  # ANALYZE records nothing for an empty index
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    command.downgrade(alembic_config(engine), "0002")
    upgrade(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            indexes = {r[0] for r in conn.exec_driver_sql("SELECT idx FROM sqlite_stat1")}
            assert "ix_deal_owner" in indexes
        else:
            names = {r[0] for r in conn.exec_driver_sql("SELECT stxname FROM pg_statistic_ext")}
            assert "st_deal_pipeline_stage" in names


def _owner_index(engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE name = 'ix_deal_owner_entered'"
        else:
            sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_deal_owner_entered'"
        return conn.exec_driver_sql(sql).scalar_one()


def test_one_owners_list_index_carries_the_deal_id_on_postgresql(engine):
    """/deal list mine reads its page's ids from ix_deal_owner_entered: SQLite's index holds
    the row id; PostgreSQL's includes it (0025), or every listed deal is read from the table."""
    command.downgrade(alembic_config(engine), "0024_stall_order")
    assert "INCLUDE" not in _owner_index(engine)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        assert _owner_index(engine).endswith("INCLUDE (id)")
    else:
        assert "INCLUDE" not in _owner_index(engine)
