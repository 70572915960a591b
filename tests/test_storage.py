"""The schema: migrations, exact money, aware datetimes, workspace defaults."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import select

from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from storage import db
from storage.db import current_revision, session_scope
from storage.models import Member, Pipeline, Role, Stage, Workspace


def test_migrations_reach_head(engine):
    assert current_revision(engine) is not None
    assert "deal" in sa.inspect(engine).get_table_names()


def test_new_workspace_gets_the_default_pipelines(session):
    # An English workspace gets English names (test_names.py: a Korean one, Korean names).
    ws = get_or_create_workspace(
        session=session, team_id="T1", defaults=WorkspaceDefaults(locale="en")
    )
    session.commit()
    pipelines = session.exec(select(Pipeline).where(Pipeline.workspace_id == ws.id)).all()
    names = {p.name: p for p in pipelines}
    assert set(names) == {"New business", "Renewals", "Leads"}
    stages = session.exec(
        select(Stage).where(Stage.pipeline_id == names["New business"].id).order_by(Stage.position)
    ).all()
    assert [(s.name, s.probability, s.stall_days, s.outcome) for s in stages] == [
        ("Contact", 10, 7, "open"),
        ("Qualification", 20, 10, "open"),
        ("Meeting", 40, 14, "open"),
        ("Proposal", 60, 14, "open"),
        ("Negotiation", 80, 10, "open"),
        ("Won", 100, None, "won"),
        ("Lost", 0, None, "lost"),
    ]
    # Calling again returns the same workspace rather than a second set of pipelines.
    assert get_or_create_workspace(session=session, team_id="T1").id == ws.id


def test_installing_user_is_admin_and_later_users_are_reps(session):
    ws = get_or_create_workspace(session=session, team_id="T1")
    first = get_or_create_member(session=session, workspace=ws, slack_user_id="U1")
    second = get_or_create_member(session=session, workspace=ws, slack_user_id="U2")
    boss = get_or_create_member(
        session=session, workspace=ws, slack_user_id="U3", is_workspace_admin=True
    )
    session.commit()
    assert (first.role, second.role, boss.role) == (Role.admin, Role.rep, Role.admin)
    assert session.exec(select(Member).where(Member.workspace_id == ws.id)).all().__len__() == 3


def test_datetimes_come_back_aware_in_utc(session):
    seoul = timezone(timedelta(hours=9))
    ws = Workspace(team_id="T9", created_at=datetime(2026, 11, 22, 9, 0, tzinfo=seoul))
    session.add(ws)
    session.commit()
    session.expunge_all()
    again = session.exec(select(Workspace).where(Workspace.team_id == "T9")).one()
    assert again.created_at == datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    assert again.created_at.tzinfo is not None


def test_money_is_exact(session):
    from storage.models import Deal

    ws = get_or_create_workspace(session=session, team_id="T1")
    stage = session.exec(select(Stage).where(Stage.workspace_id == ws.id)).first()
    now = datetime.now(UTC)
    for i, amount in enumerate(["0.10", "0.20", "7590000.01"], start=1):
        session.add(
            Deal(
                workspace_id=ws.id,
                number=i,
                title=f"d{i}",
                amount=Decimal(amount),
                pipeline_id=stage.pipeline_id,
                stage_id=stage.id,
                stage_entered_at=now,
            )
        )
    session.commit()
    total = session.exec(select(sa.func.sum(Deal.amount))).one()
    assert total == Decimal("7590000.31")


def test_writers_take_turns_and_a_failed_write_hands_the_turn_on(engine):
    """Eight threads write at once: every write lands, and an error in one unit of work
    (rolled back) does not keep the others waiting."""
    with session_scope(engine) as session:
        get_or_create_workspace(session=session, team_id="T1")

    def write(i: int) -> str:
        if i % 4 == 0:
            try:
                with session_scope(engine) as session:
                    session.add(Workspace(team_id=f"TX{i}"))
                    session.flush()
                    raise RuntimeError("boom")
            except RuntimeError:
                return "rolled back"
        with session_scope(engine) as session:
            ws = session.exec(select(Workspace).where(Workspace.team_id == "T1")).one()
            get_or_create_member(session=session, workspace=ws, slack_user_id=f"U{i}", name="")
        return "written"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(write, range(16), timeout=60))
    assert results.count("rolled back") == 4 and results.count("written") == 12
    with session_scope(engine, readonly=True) as session:
        assert len(session.exec(select(Member)).all()) == 12
        assert session.exec(select(Workspace).where(Workspace.team_id.like("TX%"))).all() == []
    if engine.dialect.name == "sqlite":  # the turn is free again, for a thread that never wrote
        turn = db._WRITERS[engine]
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(turn.acquire, blocking=False).result()
