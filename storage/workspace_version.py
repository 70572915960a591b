"""The one statement every request runs: its workspace's ``config_version``.

bot.context keeps each workspace and member per process and trusts the copy while the
workspace's ``config_version`` (storage.config_version) is the one it was read at, so every
request asks for that integer first. It is one statement on a pooled driver connection: no
SQLAlchemy ``Connection`` (its events, execution context and result cost more than a bare
Bolt app's whole request, issue 17), and on SQLite no transaction (the driver is in
autocommit and a lone SELECT is atomic; the write lock is never asked for). Driver errors
are raised as SQLAlchemy's, as any other query's, so an unreachable database is told apart
the same way (storage.db.unreachable).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_SQL = "SELECT config_version FROM workspace WHERE team_id = {}"


def config_version(engine: Engine, team_id: str) -> int | None:
    """The workspace's ``config_version`` (None when there is no such workspace)."""
    dialect = engine.dialect
    sql = _SQL.format("?" if dialect.paramstyle == "qmark" else "%s")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, (team_id,))
            row = cursor.fetchone()
        finally:
            cursor.close()
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, raw.dbapi_connection, None)
        if gone:
            raw.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql,
            (team_id,),
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=dialect,
        ) from exc
    finally:
        raw.close()  # back to the pool, which rolls back what PostgreSQL began
    return row[0] if row else None
