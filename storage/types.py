"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy import types

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class Money(types.TypeDecorator):
    """An exact decimal amount with two places, stored as integer hundredths.

    SQLite has no exact decimal type (NUMERIC degrades to REAL), so both databases store
    BIGINT hundredths: sums are exact everywhere. ``SUM(col)`` comes back as ``Decimal``;
    arithmetic on the column (``amount * probability``) yields raw hundredths, see
    :func:`from_hundredths`.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int((Decimal(value) * HUNDRED).to_integral_value(ROUND_HALF_UP))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(value) / HUNDRED).quantize(CENT)


def from_hundredths(value: int | Decimal | None, scale: int = 1) -> Decimal:
    """Raw hundredths (optionally times ``scale``) back to a Decimal amount."""
    if value is None:
        return Decimal(0).quantize(CENT)
    return (Decimal(value) / (HUNDRED * scale)).quantize(CENT, ROUND_HALF_UP)


class UTCDateTime(types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
