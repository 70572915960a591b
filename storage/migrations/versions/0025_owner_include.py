"""One owner's list page from the index alone on PostgreSQL too (issue 17)

Revision ID: 0025_owner_include
Revises: 0024_stall_order
Create Date: 2026-12-03 23:50:00

``/deal list mine`` reads its page's deal ids from two ranges of ``ix_deal_owner_entered``.
A SQLite index carries the row id, so those reads never touch the table; a PostgreSQL btree
does not carry the primary key, so each of the member's ~300 open deals (1M-deal bench) was
fetched from the table twice per page: 632 buffers for a 20-deal page. ``INCLUDE (id)``
makes both ranges index-only (212 buffers, no heap fetches). SQLite is left as it is.
"""

from alembic import op

revision = "0025_owner_include"
down_revision = "0024_stall_order"
branch_labels = None
depends_on = None

OWNER_ENTERED = [
    *("workspace_id", "owner_id", "closed_at", "stage_entered_at", "number", "stage_id"),
    "snoozed_until",
]


def _recreate(**include) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_deal_owner_entered", table_name="deal")
    op.create_index("ix_deal_owner_entered", "deal", OWNER_ENTERED, unique=False, **include)


def upgrade() -> None:
    _recreate(postgresql_include=["id"])


def downgrade() -> None:
    _recreate()
