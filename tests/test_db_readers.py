"""Eight commands reading at once (issue 17): the engine keeps their connections, and on
SQLite every one of them is set up alike (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from storage.db import session_scope

READERS = 8


def _read_together(engine, rounds: int) -> list[tuple]:
    """``rounds`` times, eight read-only units of work that all hold their connection at
    once; the settings each connection reports."""
    together = threading.Barrier(READERS)
    seen = []

    def read(_):
        with session_scope(engine, readonly=True) as session:
            conn = session.connection()
            settings = ()
            if engine.dialect.name == "sqlite":
                settings = tuple(
                    conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
                )
            together.wait(timeout=30)
            return settings

    with ThreadPoolExecutor(READERS) as pool:
        for _ in range(rounds):
            seen += pool.map(read, range(READERS), timeout=60)
    return seen


def test_eight_readers_at_once_reuse_their_connections(engine):
    """A new connection reads the schema and its pages again: eight readers, five times over,
    open eight connections, not a new batch each round."""
    connects = []
    sa.event.listen(engine, "connect", lambda *_: connects.append(1))
    _read_together(engine, rounds=5)
    assert len(connects) == READERS


def test_every_pooled_sqlite_connection_has_the_same_settings(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's pragmas")
    seen = _read_together(engine, rounds=2)
    assert set(seen) == {("wal", 30000, 1, 1)}  # synchronous 1: NORMAL
