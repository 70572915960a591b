"""Alert routes, members' alert preferences and mutes, and alerts held for a digest

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-03 06:30:00

``/pipeline alert add won channel:#wins min:1억`` writes an ``alert_route``; App Home writes a
member's ``alert_prefs`` (batching, quiet hours) and ``alert_mute`` rows (a deal, a
pipeline). An alert DM due while its member batches or sleeps waits in ``alert_item`` until
the alert-digests job sends it (domain.alerts).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0017"
down_revision = "0018"
branch_labels = None
depends_on = None


def _s(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _base() -> list:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    op.create_table(
        "alert_route",
        *_base(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("event", _s(16), nullable=False),
        sa.Column("channel", _s(32), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=True),
        sa.Column("stage_id", sa.Integer(), nullable=True),
        sa.Column("min_amount", storage.types.Money(), nullable=True),
        sa.Column("currency", _s(3), nullable=True),
        sa.Column("owners", _s(500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stage_id"], ["stage.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["member.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("workspace_id", "number", name="uq_alert_route_number"),
    )
    op.create_index("ix_alert_route_workspace_id", "alert_route", ["workspace_id"])
    op.create_table(
        "alert_prefs",
        *_base(),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("batch", _s(8), nullable=False),
        sa.Column("quiet_start", _s(5), nullable=True),
        sa.Column("quiet_end", _s(5), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("member_id"),
    )
    op.create_index("ix_alert_prefs_workspace_id", "alert_prefs", ["workspace_id"])
    op.create_table(
        "alert_mute",
        *_base(),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("subject", _s(24), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("pipeline_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("member_id", "subject", name="uq_alert_mute"),
    )
    op.create_index("ix_alert_mute_workspace_id", "alert_mute", ["workspace_id"])
    op.create_table(
        "alert_item",
        *_base(),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("key", _s(255), nullable=False),
        sa.Column("release_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("digest", _s(255), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_alert_item_workspace_id", "alert_item", ["workspace_id"])
    op.create_index("ix_alert_item_due", "alert_item", ["workspace_id", "digest", "release_at"])


def downgrade() -> None:
    for table in ("alert_item", "alert_mute", "alert_prefs", "alert_route"):
        op.drop_table(table)
