"""Quotas per member or team and month or quarter, for the pipeline coach

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-03 02:30:00

``/pipeline quota @lee 3억 period:2027-Q1`` sets a member's target; ``/pipeline quota team …``
the team's, which the coach divides among the reps when a member has none of their own.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("amount", storage.types.Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_by_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "scope", "period"),
    )
    op.create_index("ix_quota_workspace_id", "quota", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_quota_workspace_id", table_name="quota")
    op.drop_table("quota")
