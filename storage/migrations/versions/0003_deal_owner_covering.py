"""deal owner index covers the amount

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:35:00

``/deal list mine`` counts and sums a member's open deals. With ``ix_deal_owner`` on
(workspace, owner, closed_at) alone, SQLite preferred the covering open-stage index and read
every open deal of the workspace to pick one owner's (36 ms at 1M deals, growing with the
database). With ``amount`` in the index the query reads only that owner's index entries.
"""

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


def downgrade() -> None:
    with op.batch_alter_table("deal", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_deal_owner")
        batch_op.create_index(
            "ix_deal_owner", ["workspace_id", "owner_id", "closed_at"], unique=False
        )
