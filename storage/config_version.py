"""``workspace.config_version``: one integer that says whether a cached copy is still good.

Serving processes keep each workspace's settings and its members (bot.context) in memory
between requests. Every flush that adds, changes or deletes a workspace, member, pipeline,
stage, custom field or exchange rate adds 1 to the workspace's ``config_version`` in the same transaction, as an SQL
increment (``config_version + 1``), so two processes changing things at once never write the
same number. A request reads the integer first and trusts its copies only when it matches.

:func:`kept` holds what is derived from those rows (a workspace's stages and pipelines, say)
per database, workspace and version, so requests stop reading them again; a session that
changed any of them (or holds such a change unflushed) reads afresh.

Counters (``next_deal_number`` and friends) are written with Core updates and do not bump
the version: nothing cached reads them. A row changed outside the ORM (an operator's SQL, a
bulk load) must bump the version itself, or wait for the caches' hour-long safety net
(docs/operations.md).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.models import CustomField, ExchangeRate, Member, Pipeline, Stage, Workspace

T = TypeVar("T")
# Fields: domain.custom_fields.shown; rates: domain.money.conversion.
WATCHED = (Member, Pipeline, Stage, CustomField, ExchangeRate)
CHANGED = "salesbot_config_changed"  # session.info: this transaction changed the configuration
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
        session.info[CHANGED] = True


# Per connection pool (one database in this process): {(workspace id, name): (version, value)}.
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def kept(session: Session, workspace: Workspace, name: str, load: Callable[[], T]) -> T:
    """``load()``, kept for this workspace at its ``config_version``. The value must be
    immutable (tuples, named tuples, frozen dataclasses): every thread shares it."""
    version = workspace.config_version
    if version is None or session.info.get(CHANGED) or _pending(session):
        return load()
    pool = session.get_bind().pool
    key = (workspace.id, name)
    held = _KEPT.get(pool, _NONE).get(key)  # a read needs no lock (one dict read each)
    if held is not None and held[0] == version:
        return held[1]
    value = load()
    with _KEPT_LOCK:
        _KEPT.setdefault(pool, {})[key] = (version, value)
    return value


_NONE: dict = {}
_CONFIG = (*WATCHED, Workspace)


def _pending(session: Session) -> bool:
    """Unflushed changes to what :func:`kept` derives from (a query would autoflush them)."""
    # A read's session holds none: answered from the session's own three collections
    # (``session.new``/``deleted``/``dirty`` build a set each; issue 17, a request asks
    # :func:`kept` five times).
    if not (session._new or session._deleted or session.identity_map._modified):
        return False
    return any(isinstance(o, _CONFIG) for o in (*session.new, *session.deleted)) or (
        any(isinstance(o, _CONFIG) for o in session.dirty)
    )


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
