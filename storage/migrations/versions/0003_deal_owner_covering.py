"""deal owner index covers the amount

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:35:00

``/deal list mine`` counts and sums a member's open deals. With ``ix_deal_owner`` on
(workspace, owner, closed_at) alone, SQLite preferred the covering open-stage index and read
every open deal of the workspace to pick one owner's (36 ms at 1M deals, growing with the
database). With ``amount`` in the index the query reads only that owner's index entries.

On SQLite a database that has planner statistics (``sqlite_stat1``) gets them for the new
index too: without them SQLite takes a fresh index for far more selective than it is, and
it chose this one for the per-owner closed-deal totals of ``/pipeline metrics`` (1.4 s
instead of 0.1 s at 1M deals).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deal", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_deal_owner")
        batch_op.create_index(
            "ix_deal_owner", ["workspace_id", "owner_id", "closed_at", "amount"], unique=False
        )
    _analyze_on_sqlite()


def _analyze_on_sqlite() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL plans a plain-column index from the table's column statistics
    has_stats = bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).first()
    if has_stats:
        bind.exec_driver_sql("ANALYZE ix_deal_owner")


def downgrade() -> None:
    with op.batch_alter_table("deal", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_deal_owner")
        batch_op.create_index(
            "ix_deal_owner", ["workspace_id", "owner_id", "closed_at"], unique=False
        )
    _analyze_on_sqlite()
