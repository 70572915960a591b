"""The stall digest's sums and one owner's list read from indexes alone (issue 17)

Revision ID: 0024_stall_order
Revises: 0023_weekly
Create Date: 2026-12-03 20:10:00

- ``ix_deal_stalled`` (workspace, closed_at, stalled_since) gains every column the stall
  digest's sums read of the deals in its range (stage, stage entry, snooze, owner, currency,
  amount): the 145k stalled deals of the 1M bench were each read from the table (SQLite
  ~0.6 s); now an index-only range. Same name, same leading columns: every other read of
  the index is unchanged.
- ``ix_deal_owner_entered`` (workspace, owner, closed_at, stage entry, number, stage,
  snooze): one member's open deals in the order ``/deal list mine`` shows them (stalled
  first, then longest in the stage), with what the stall rule reads, so the page reads the
  first rows of two index ranges instead of every open deal of the member from the table
  and sorting them.

SQLite's statistics are refreshed for the new indexes (its planner reads them) when the
database has them. (The columns are spelled out here, not imported: a migration must not
change when the code does.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_stall_order"
down_revision = "0023_weekly"
branch_labels = None
depends_on = None

STALLED = ["workspace_id", "closed_at", "stalled_since"]
STALLED_COVERING = [
    *STALLED,
    *("stage_id", "stage_entered_at", "snoozed_until", "owner_id", "currency", "amount"),
]
OWNER_ENTERED = [
    *("workspace_id", "owner_id", "closed_at", "stage_entered_at", "number", "stage_id"),
    "snoozed_until",
]


def _analyze() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        has_stats = bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        ).first()
        if has_stats:
            bind.exec_driver_sql("ANALYZE deal")


def upgrade() -> None:
    op.drop_index("ix_deal_stalled", table_name="deal")
    op.create_index("ix_deal_stalled", "deal", STALLED_COVERING, unique=False)
    op.create_index("ix_deal_owner_entered", "deal", OWNER_ENTERED, unique=False)
    _analyze()


def downgrade() -> None:
    op.drop_index("ix_deal_owner_entered", table_name="deal")
    op.drop_index("ix_deal_stalled", table_name="deal")
    op.create_index("ix_deal_stalled", "deal", STALLED, unique=False)
    _analyze()
