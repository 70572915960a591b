"""Many rows into one table, fast: ``COPY`` on PostgreSQL, the driver's ``executemany`` on
SQLite, in the caller's transaction. Imports write 100,000 deals this way.

Ids are taken before the rows go in, so no ``RETURNING`` is needed (psycopg spends more time
parsing a multi-row ``INSERT … VALUES`` than the server spends running it): on PostgreSQL
from the table's own sequence (``nextval`` — safe beside concurrent inserts), on SQLite as
``max(id) + 1 …`` (safe: a SQLite transaction holds the database's write lock from its
start, see storage/db.py). Values go through the columns' own bind processors, so
``Money`` is stored as hundredths and datetimes as UTC exactly as the ORM would store them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session


def insert(session: Session, model, rows: list[dict], *, ids: bool = False) -> list[int]:
    """Insert ``rows`` (dicts with the same keys) into ``model``'s table; with ``ids``, give
    each an ``id`` (set in the dicts too) and return them in order."""
    if not rows:
        return []
    table: sa.Table = model.__table__
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    new_ids: list[int] = []
    if ids:
        if postgres:
            new_ids = list(
                conn.execute(
                    sa.text(
                        "SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"t": table.name, "n": len(rows)},
                ).scalars()
            )
        else:
            start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar()
            new_ids = list(range(start + 1, start + len(rows) + 1))
        for row, new_id in zip(rows, new_ids, strict=True):
            row["id"] = new_id
    if not postgres:
        conn.execute(sa.insert(table), rows)
        return new_ids
    columns = list(rows[0])
    processors = [table.c[c].type.bind_processor(conn.dialect) for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                tuple(
                    p(row[c]) if p is not None else row[c]
                    for c, p in zip(columns, processors, strict=True)
                )
            )
    return new_ids
