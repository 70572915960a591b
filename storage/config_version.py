"""``workspace.config_version``: one integer that says whether a cached copy is still good.

Serving processes keep each workspace's settings and its members (bot.context) in memory
between requests. Every flush that adds, changes or deletes a workspace, member, pipeline or
stage adds 1 to the workspace's ``config_version`` in the same transaction, as an SQL
increment (``config_version + 1``), so two processes changing things at once never write the
same number. A request reads the integer first and trusts its copies only when it matches.

Counters (``next_deal_number`` and friends) are written with Core updates and do not bump
the version: nothing cached reads them. A row changed outside the ORM (an operator's SQL, a
bulk load) must bump the version itself, or wait for the caches' hour-long safety net
(docs/operations.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.models import Member, Pipeline, Stage, Workspace

WATCHED = (Member, Pipeline, Stage)
_TABLE = Workspace.__table__
_BUMP = (
    sa.update(_TABLE)
    .where(_TABLE.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(config_version=_TABLE.c.config_version + 1)
)


def bump(session: Session, workspace_ids) -> None:
    """Add 1 to these workspaces' versions, in the session's transaction."""
    ids = sorted({i for i in workspace_ids if i is not None})
    if ids:
        session.connection().execute(_BUMP, {"ids": ids})


@event.listens_for(Session, "before_flush")
def _changed(session: Session, _flush_context, _instances) -> None:
    ids = set()
    gone = {obj.id for obj in session.deleted if isinstance(obj, Workspace)}
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, WATCHED):
            ids.add(obj.workspace_id)
    for obj in session.dirty:
        if isinstance(obj, (*WATCHED, Workspace)) and session.is_modified(obj):
            ids.add(obj.id if isinstance(obj, Workspace) else obj.workspace_id)
    bump(session, ids - gone)
