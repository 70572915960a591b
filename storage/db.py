"""Engine and session set-up, and schema upgrades through Alembic."""

from __future__ import annotations

import select
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage.config_version  # noqa: F401  (every flush bumps what caches must notice)

DEFAULT_URL = "sqlite:///salesbot.db"
CONNECT_TIMEOUT = 2  # seconds (PostgreSQL)
# SQLite connections the pool keeps: as many as threads that may read at once (8 serving
# threads, Bolt's listeners, the scheduler). With SQLAlchemy's default of 5, under eight
# concurrent commands every connection handed back past the fifth was closed, and its
# successor read the schema and, through its own empty page cache, every page of the next
# request again (issue 17, 1M deals, 300 `/deal list` eight at a time: 12 new connections,
# ~19 read calls a request; with 16: 2-3 and 3-5). A kept connection costs a file handle
# and its page cache (up to 2 MB). PostgreSQL keeps 10 (below).
SQLITE_POOL = 16
MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` forms and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str = DEFAULT_URL, **kwargs) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if sa.make_url(url).database not in (None, "", ":memory:"):  # :memory: has no pool size
            kwargs.setdefault("pool_size", SQLITE_POOL)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _sqlite_pragmas(engine)
        return engine
    ping = kwargs.pop("pool_pre_ping", None)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_timeout", 2)
    # A database that does not answer must not hold a slash command past Slack's 3 seconds.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT, **kwargs.pop("connect_args", {})}
    engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=bool(ping), **kwargs)
    if ping is None:
        _ping_when_in_doubt(engine)
    return engine


PING_AFTER = 5.0  # seconds a pooled PostgreSQL connection may rest and still be trusted


def _ping_when_in_doubt(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for a connection in doubt (issue 17).

    The pre-ping (``SELECT 1``, a round trip on every checkout) cost ~27 µs of this
    process's CPU per unit of work, more than a command's parse or its view. A connection
    handed back less than :data:`PING_AFTER` seconds ago whose socket has nothing to read is used as it is: when the server ends a connection (a
    restart, ``pg_terminate_backend``, a proxy or firewall closing it) it sends its last
    words or end-of-file, and the socket becomes readable; an idle connection otherwise has
    nothing to read (we LISTEN to nothing). Any other connection is pinged as before, and one
    that fails is replaced on the spot (``DisconnectionError``: the pool reconnects, and
    connections older than the failure are replaced when next checked out).
    """

    @event.listens_for(engine, "connect")
    def _fresh(dbapi_conn, record):
        record.info["salesbot_rested"] = None  # just connected: nothing to doubt

    @event.listens_for(engine, "checkin")
    def _rested(dbapi_conn, record):
        record.info["salesbot_rested"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):
        rested = record.info.pop("salesbot_rested", 0.0)
        if rested is None:
            return
        if time.monotonic() - rested < PING_AFTER and _quiet(dbapi_conn):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(str(exc)) from exc
        if not alive:
            raise sa.exc.DisconnectionError("ping failed")


def _quiet(dbapi_conn) -> bool:
    """Whether the connection is open and its socket has nothing waiting to be read (nor
    an error or a hang-up: ``poll`` reports those too). In any doubt, not quiet."""
    try:
        if dbapi_conn.closed or dbapi_conn.broken:
            return False
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(dbapi_conn.fileno(), select.POLLIN)
        return not poller.poll(0)
    except Exception:
        return False


def unreachable(exc: BaseException) -> bool:
    """The database could not be reached or would not answer (down, restarting, refusing
    connections, a pool exhausted, SQLite's file locked past the busy timeout): the error is
    about where the data lives, not about what was asked."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError)


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE``.

    SQLite allows one writer. A deferred transaction that reads and then writes fails at
    once with "database is locked" when another writer got in between (the busy timeout
    does not help there), so every transaction takes the write lock when it begins. Reads
    are milliseconds; correctness under concurrent moves matters more.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A read-only unit of work (session_scope(readonly=True)) does not queue behind writers.
        # Straight to the driver: SQLAlchemy's statement machinery (events, an execution
        # context, a result) cost more than the BEGIN itself, twice per request (issue 17).
        read = conn._execution_options.get("salesbot_readonly")
        conn.connection.driver_connection.execute("BEGIN" if read else "BEGIN IMMEDIATE")


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()
WRITER_WAIT = 30.0  # seconds, as SQLite's busy timeout


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """On SQLite, writers of this process take turns on a lock before ``BEGIN IMMEDIATE``.

    SQLite's busy handler polls with growing sleeps (up to 100 ms each), so writers queued
    behind one another wake late and a burst of moves gets a long tail; a lock hands the
    turn over the moment the last writer is done. Other processes still meet the busy
    timeout; after ``WRITER_WAIT`` we stop waiting here and let SQLite decide.
    """
    with _WRITERS_GUARD:
        lock = _WRITERS.setdefault(engine, threading.RLock())
    got = lock.acquire(timeout=WRITER_WAIT)
    try:
        yield
    finally:
        if got:
            lock.release()


def reader(engine: Engine) -> Engine:
    """``engine`` for read-only units of work (``salesbot_readonly``), made once per engine
    and kept on it (``execution_options`` builds a new engine object on every call)."""
    try:
        return engine.__dict__["_salesbot_reader"]
    except KeyError:
        bound = engine.__dict__["_salesbot_reader"] = engine.execution_options(
            salesbot_readonly=True
        )
        return bound


def core_rows(session: Session, statement, params: dict | None = None):
    """``session.execute(statement, params)`` for a Core statement (columns, no entities),
    on the session's connection: the same rows without the ORM's execution layer, about a
    third of a small statement's Python (issue 17). Autoflushes as ``session.execute``."""
    return flushed_connection(session).execute(statement, params)


def flushed_connection(session: Session):
    """The session's connection, with what the session holds flushed first when it
    autoflushes (as ``session.execute`` would): for reads that run past the ORM."""
    if session.autoflush:
        session.flush()
    return session.connection()


@contextmanager
def session_scope(engine: Engine, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    ``readonly`` is a promise that the work only reads: on SQLite it begins a deferred
    transaction, so readers never wait for the write lock (WAL lets them read alongside).
    """
    bind = reader(engine) if readonly else engine
    turn = nullcontext() if readonly or engine.dialect.name != "sqlite" else _writer_turn(engine)
    with turn, Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def time_limit(session: Session, seconds: float | None) -> Iterator[None]:
    """Abort the session's statements once ``seconds`` have passed (a runaway query fails with
    a database error instead of running on): PostgreSQL's ``statement_timeout`` for this
    transaction; on SQLite a progress handler that interrupts after the deadline."""
    if seconds is None:
        yield
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        yield
        return
    import time

    raw = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic); safe to call on every start."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
