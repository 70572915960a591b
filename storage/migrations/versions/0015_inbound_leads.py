"""Inbound leads: a workspace's lead endpoint and web form, and the leads that arrived by them

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-03 06:30:00

``inbound_source`` holds one row per workspace that turned the endpoint on
(``/pipeline inbound``): its public key, the SHA-256 of its secret, the key that signs its
form's tokens, the leads channel, round-robin, and two rate-limit buckets. ``inbound_lead``
holds one row per lead that arrived by itself: the retry key that makes a resend the same
lead, what the sender gave beyond the lead's fields, and the key of its channel post.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("form_key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("round_robin", sa.Boolean(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("api_tokens", sa.Float(), nullable=False),
        sa.Column("api_at", UTC, nullable=False),
        sa.Column("form_tokens", sa.Float(), nullable=False),
        sa.Column("form_at", UTC, nullable=False),
        sa.Column("rotated_at", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("workspace_id"),
    )
    op.create_table(
        "inbound_lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("retry_key", sa.String(length=160), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("duplicates", sa.Text(), nullable=False),
        sa.Column("post_key", sa.String(length=255), nullable=False),
        sa.Column("assigned_by", sa.String(length=16), nullable=True),
        sa.Column("disqualified_at", UTC, nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id"),
        sa.UniqueConstraint("workspace_id", "retry_key", name="uq_inbound_lead_retry"),
    )
    op.create_index(
        "ix_inbound_lead_received", "inbound_lead", ["workspace_id", "received_at"], unique=False
    )
    op.create_index("ix_activity_lead", "activity", ["lead_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_activity_lead", table_name="activity")
    op.drop_index("ix_inbound_lead_received", table_name="inbound_lead")
    op.drop_table("inbound_lead")
    op.drop_table("inbound_source")
