"""A workspace's install, uninstall and erasure (OAuth mode; docs/operations.md).

- :func:`installed`: the workspace exists (with its default pipelines), is marked installed,
  and the installing user is a member and an admin: the first admin of a new workspace.
- :func:`uninstalled`: Slack said the app was uninstalled or its bot token revoked. The
  workspace is marked, nothing more is planned for it (scheduler.runner) and its unsent posts
  are dropped at once: the outbox holds nothing for a workspace Salesbot cannot post to.
- :func:`erase`: every row of the workspace in every table, and its install (GDPR-style),
  with the count per table.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from storage import outbox
from storage.installations import BY_TEAM, bots
from storage.models import Member, Role, Workspace


def installed(
    *,
    session: Session,
    team_id: str,
    team_name: str,
    user_id: str,
    user_name: str = "",
    locale: str | None = None,
    defaults: WorkspaceDefaults | None = None,
) -> Workspace:
    ws = get_or_create_workspace(
        session=session, team_id=team_id, name=team_name or "", defaults=defaults
    )
    ws.uninstalled_at = None
    if team_name and not ws.name:
        ws.name = team_name
    session.add(ws)
    member = get_or_create_member(
        session=session,
        workspace=ws,
        slack_user_id=user_id,
        name=user_name,
        is_workspace_admin=True,
        locale=locale,
    )
    has_admin = session.exec(
        select(Member.id).where(Member.workspace_id == ws.id, Member.role == Role.admin)
    ).first()
    if has_admin is None:  # a workspace whose admins all left: the installer takes it on
        member.role = Role.admin
        session.add(member)
    session.flush()
    return ws


def uninstalled(*, session: Session, team_id: str, now: datetime) -> int | None:
    """Mark the workspace uninstalled and drop its unsent posts; how many were dropped
    (None: no such workspace)."""
    ws = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
    if ws is None:
        return None
    if ws.uninstalled_at is None:
        ws.uninstalled_at = now
        session.add(ws)
    return outbox.drop_unsent(session, workspace_id=ws.id)


def gone(
    *, session: Session, workspace_id: int, now: datetime, token: str | None = None
) -> int | None:
    """Slack refused ``token``, the workspace's last (None: it had none): as
    :func:`uninstalled`, by our id. None, and nothing changes, when the install holds another
    token by now (installed again, or refreshed, since that token was refused)."""
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        return 0
    latest = session.execute(
        sa.select(bots.c.bot_token)
        .where(bots.c.team_id == ws.team_id, bots.c.bot_token.is_not(None))
        .order_by(bots.c.installed_at.desc())
        .limit(1)
    ).scalar()
    if latest is not None and latest != token:
        return None
    if ws.uninstalled_at is None:
        ws.uninstalled_at = now
        session.add(ws)
    return outbox.drop_unsent(session, workspace_id=workspace_id)


def erase(*, session: Session, team_id: str) -> dict[str, int] | None:
    """Delete every row of the workspace, children first; rows deleted per table (tables
    with none left out). None when there is no such workspace and no install."""
    ws = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
    counts: dict[str, int] = {}
    if ws is not None:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name == Workspace.__tablename__ or "workspace_id" not in table.c:
                continue
            result = session.execute(sa.delete(table).where(table.c.workspace_id == ws.id))
            if result.rowcount:
                counts[table.name] = result.rowcount
        session.execute(sa.delete(Workspace.__table__).where(Workspace.id == ws.id))
        counts[Workspace.__tablename__] = 1
    for table in BY_TEAM:
        result = session.execute(sa.delete(table).where(table.c.team_id == team_id))
        if result.rowcount:
            counts[table.name] = result.rowcount
    session.flush()
    return counts if counts else None
