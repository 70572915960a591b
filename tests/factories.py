"""Small factories for tests: a workspace with its people, a deal where you want it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain import deals
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from storage.models import Member, Role, Workspace

T0 = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)  # Monday 09:30 in Seoul


def workspace(session, team_id: str = "T1", automation: bool = False, **settings) -> Workspace:
    """A workspace as first contact makes it, with English stage names (most tests were
    written against them; tests/test_korean_words.py covers the Korean ones) and its default
    cadence and workflows (issue 14) switched off unless ``automation``, so a test about
    something else sees only what it made (tests/test_cadences_e2e.py, test_workflows.py)."""
    stage_names = settings.pop("stage_names", "en")
    ws = get_or_create_workspace(
        session=session,
        team_id=team_id,
        name=team_id,
        defaults=WorkspaceDefaults(stage_names=stage_names),
    )
    if not automation:
        quiet(session, ws)
    for key, value in settings.items():
        setattr(ws, key, value)
    session.add(ws)
    session.flush()
    return ws


def quiet(session, ws: Workspace) -> None:
    """Switch the workspace's cadences and workflows off."""
    import sqlalchemy as sa

    from storage.models import Cadence, Workflow

    for table in (Cadence, Workflow):
        session.execute(
            sa.update(table).where(table.workspace_id == ws.id).values(active=False),
            execution_options={"synchronize_session": False},
        )


def member(session, ws: Workspace, user_id: str, role: Role = Role.rep, name: str = "") -> Member:
    m = get_or_create_member(session=session, workspace=ws, slack_user_id=user_id, name=name)
    m.role = role
    session.add(m)
    session.flush()
    return m


def deal(session, ws, actor, title="Acme ERP", amount="7590000", now=T0, **kw):
    return deals.create_deal(
        session=session,
        workspace=ws,
        actor=actor,
        title=title,
        amount=Decimal(amount),
        now=now,
        **kw,
    ).deal
