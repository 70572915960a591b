"""The one statement every request runs: its workspace's ``config_version``.

bot.context keeps each workspace and member per process and trusts the copy while the
workspace's ``config_version`` (storage.config_version) is the one it was read at, so every
request asks for that integer first. It is one statement on a driver connection kept for
this one question: no SQLAlchemy ``Connection`` (its events, execution context and result
cost more than a bare Bolt app's whole request, issue 17), no transaction (a lone SELECT is
atomic; SQLite's driver is in autocommit already, PostgreSQL's is put in it once), and no
trip through the engine's pool (its checkout, the pre-ping's round trip on PostgreSQL, the
reset on return): a few connections taken from the pool once (``detach``) are kept per
engine and handed to one caller at a time, at most :data:`KEPT` of them, closed with the
engine (``dispose``). A kept connection the database dropped (a restart) is thrown away and
the question asked once more on a new one, as the pool's pre-ping would have done. Driver
errors are raised as SQLAlchemy's, as any other query's, so an unreachable database is
told apart the same way (storage.db.unreachable).
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

_SQL = "SELECT config_version FROM workspace WHERE team_id = {}"
KEPT = 8  # driver connections kept per engine: as many as requests are checked at once

_KEPT: weakref.WeakKeyDictionary[Engine, tuple[int, list]] = weakref.WeakKeyDictionary()
_KEPT_GUARD = threading.Lock()


def config_version(engine: Engine, team_id: str) -> int | None:
    """The workspace's ``config_version`` (None when there is no such workspace)."""
    dialect = engine.dialect
    sql = _SQL.format("?" if dialect.paramstyle == "qmark" else "%s")
    idle = _idle(engine)
    try:
        conn, kept = idle.pop(), True  # list.pop and append are atomic: no lock
    except IndexError:
        conn, kept = _connect(engine, sql, team_id), False
    try:
        row = conn.execute(sql, (team_id,)).fetchone()
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, conn, None)
        _close(conn)
        if not (kept and gone):
            raise _wrapped(exc, sql, team_id, dialect, gone=gone) from exc
        conn = _connect(engine, sql, team_id)  # the database restarted since: once more
        try:
            row = conn.execute(sql, (team_id,)).fetchone()
        except dialect.loaded_dbapi.Error as again:
            gone = dialect.is_disconnect(again, conn, None)
            _close(conn)
            raise _wrapped(again, sql, team_id, dialect, gone=gone) from again
    if len(idle) < KEPT:
        idle.append(conn)
    else:
        _close(conn)
    return row[0] if row else None


def _idle(engine: Engine) -> list:
    """This process's idle connections for ``engine`` (a forked child starts afresh and
    leaves its parent's alone: connections must not cross a fork)."""
    held = _KEPT.get(engine)
    if held is not None and held[0] == os.getpid():
        return held[1]
    with _KEPT_GUARD:
        held = _KEPT.get(engine)
        if held is None or held[0] != os.getpid():
            if held is None:
                event.listen(engine, "engine_disposed", _disposed)
            held = _KEPT[engine] = (os.getpid(), [])
        return held[1]


def _disposed(engine: Engine) -> None:
    held = _KEPT.get(engine)
    if held is None or held[0] != os.getpid():
        return
    idle = held[1]
    while idle:
        try:
            _close(idle.pop())
        except IndexError:
            break


def _connect(engine: Engine, sql: str, team_id: str):
    """A driver connection of the engine's (its connect events applied), the pool's no more."""
    dialect = engine.dialect
    try:
        raw = engine.raw_connection()  # the pool's own errors arrive as the driver's
    except dialect.loaded_dbapi.Error as exc:
        raise _wrapped(exc, sql, team_id, dialect, gone=True) from exc
    conn = raw.dbapi_connection
    raw.detach()
    if dialect.name == "postgresql":
        try:
            conn.rollback()  # the pool's checkout may have left nothing open; to be sure
            conn.autocommit = True
        except dialect.loaded_dbapi.Error as exc:
            _close(conn)
            raise _wrapped(exc, sql, team_id, dialect, gone=True) from exc
    return conn


def _close(conn) -> None:
    with contextlib.suppress(Exception):  # already gone: nothing to give back
        conn.close()


def _wrapped(exc: Exception, sql: str, team_id: str, dialect, *, gone: bool) -> Exception:
    """The driver's error as SQLAlchemy raises it from any other query."""
    return sa.exc.DBAPIError.instance(
        sql,
        (team_id,),
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=gone,
        dialect=dialect,
    )
