"""The one statement every request runs: its workspace's ``config_version``.

bot.context keeps each workspace and member per process and trusts the copy while the
workspace's ``config_version`` (storage.config_version) is the one it was read at, so every
request asks for that integer first. It is one statement on a pooled driver connection: no
SQLAlchemy ``Connection`` (its events, execution context and result cost more than a bare
Bolt app's whole request, issue 17), and no transaction (a lone SELECT is atomic): SQLite's
driver is in autocommit already, PostgreSQL's is put in it for the statement, which saves
the rollback's round trip when the connection goes back to the pool. Driver errors
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
    try:
        raw = engine.raw_connection()  # the pool's own errors arrive as the driver's
    except dialect.loaded_dbapi.Error as exc:
        raise _wrapped(exc, sql, team_id, dialect, gone=True) from exc
    # PostgreSQL: no transaction either, so the pool's rollback on return sends nothing.
    driver = raw.driver_connection if dialect.name == "postgresql" else None
    try:
        if driver is not None:
            driver.autocommit = True
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, (team_id,))
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            if driver is not None and not driver.closed:
                driver.autocommit = False
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, raw.dbapi_connection, None)
        if gone:
            raw.invalidate(exc)
        raise _wrapped(exc, sql, team_id, dialect, gone=gone) from exc
    finally:
        raw.close()
    return row[0] if row else None


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
