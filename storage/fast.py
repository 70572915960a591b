"""Hot reads run on the driver's cursor, their Core statement compiled once per dialect.

SQLAlchemy runs a cached, compiled select with a good deal of Python each time: an execution
context, the parameters built and processed, events, a cursor result and its rows. Measured
against the same SQL on the DBAPI cursor (bench/README.md, 2026-12-04) that is ~25 µs per
statement on SQLite and ~70–115 µs on PostgreSQL, for commands of 1–1.6 ms of CPU (issue 17);
a :class:`Read` saves ~12–16 µs of it on SQLite and ~30–70 µs on PostgreSQL (it still makes
a cursor, converts the values and builds the rows). It works out once per dialect what
SQLAlchemy works out each time — the SQL text, which parameter goes where with its bind
processor, the result columns' processors — and runs the statement on the cursor of the
connection's DBAPI connection: the same transaction (the read session's ``BEGIN`` and
snapshot stay as they are), the same values (SQLAlchemy's own processors: ``UTCDateTime``,
``Money``, SQLite's dates as text), rows with the same names (a named tuple per statement).

The Core statement stays the source of truth; no SQL is written here. Where something watches
statements (``before_cursor_execute`` and its kin: the tests that count or capture them), a
:class:`Read` runs through ``Connection.execute`` instead, so they see every statement.
Driver errors are handed to SQLAlchemy as its own execution does (wrapped, a lost connection
invalidated), so :func:`storage.db.unreachable` judges them as before.
"""

from __future__ import annotations

import weakref
from collections import namedtuple

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

_WATCHERS = ("before_execute", "after_execute", "before_cursor_execute", "after_cursor_execute")


class Read:
    """A Core select, run on the DBAPI cursor of the connection it is given."""

    def __init__(self, statement: sa.Select | sa.CompoundSelect):
        self.statement = statement
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()

    def all(self, conn: sa.Connection, params: dict) -> list:
        """Every row of the statement with ``params``, as ``conn.execute(...).all()`` gives
        them (same values, same names), on ``conn``'s transaction (begun if it is not)."""
        if _watched(conn):
            return conn.execute(self.statement, params).all()
        form = self._forms.get(conn.dialect)
        if form is None:
            form = self._forms[conn.dialect] = _Form(self.statement, conn.dialect)
        return form.run(conn, params)


def _watched(conn: sa.Connection) -> bool:
    """Whether a listener wants to see this connection's statements."""
    if not (conn._has_events or conn.engine._has_events):
        return False
    return any(getattr(conn.dispatch, name) for name in _WATCHERS)


class _Form:
    """A statement as one dialect runs it: SQL, parameters in order, row type, processors."""

    def __init__(self, statement, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("expanding or literal-execute parameters are not supported")
        self.dialect = dialect
        self.sql = compiled.string
        # The SQL's parameters in order (positional styles) or by name (psycopg's pyformat).
        self.positional = compiled.positional
        self.names = tuple(compiled.positiontup if compiled.positional else compiled.binds)
        self.keys = []  # the caller's key of each, as SQLAlchemy's construct_params reads it
        self.defaults = {}  # values the statement carries itself (literals, LIMIT 8)
        self.binds = []  # (index, bind processor)
        for i, name in enumerate(self.names):
            bind = compiled.binds[name]
            if bind.callable is not None:
                raise ValueError(f"parameter {name!r} has a callable value")
            self.keys.append(bind.key)
            if not bind.required:
                self.defaults[bind.key] = bind.value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds.append((i, process))
        columns = statement.selected_columns
        self.types = [column.type for column in columns]
        self.row = namedtuple("Row", columns.keys(), rename=True)
        self.results = None  # (index, result processor), once a cursor described the columns

    def run(self, conn: sa.Connection, params: dict) -> list:
        values = {**self.defaults, **params}
        args = [values[key] for key in self.keys]
        for i, process in self.binds:
            args[i] = process(args[i])
        if not self.positional:
            args = dict(zip(self.names, args, strict=True))
        if not conn.in_transaction():
            conn.begin()  # as conn.execute's autobegin
        cursor = None
        try:
            cursor = conn.connection.driver_connection.cursor()
            cursor.execute(self.sql, args)
            rows = cursor.fetchall()
            if self.results is None:
                self.results = self._results(cursor.description)
            cursor.close()
        except self.dialect.loaded_dbapi.Error as exc:
            conn._handle_dbapi_exception(exc, self.sql, args, cursor, None)
        make, results = self.row._make, self.results
        if not results:
            return [make(row) for row in rows]
        out = []
        for row in rows:
            row = list(row)
            for i, process in results:
                row[i] = process(row[i])
            out.append(make(row))
        return out

    def _results(self, description) -> list:
        """The result processors SQLAlchemy picks for these columns and the driver's types."""
        out = []
        for i, (type_, column) in enumerate(zip(self.types, description, strict=True)):
            process = type_.dialect_impl(self.dialect).result_processor(self.dialect, column[1])
            if process is not None:
                out.append((i, process))
        return out
