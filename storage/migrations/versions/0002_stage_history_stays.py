"""stage history stays: left_at, prev_entry_at, progressed; covering indexes for metrics

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:40:00

``left_at`` (when the deal moved on from the row's stage), ``prev_entry_at`` (when it last
entered the same stage before) and ``progressed`` (a later move took the deal to a later stage)
used to be recomputed by the metrics from every deal's whole history
with window functions; from now on :func:`domain.deals.move_deal` writes them. This migration
fills them in for existing rows with the same window functions, once, in one set-based
``UPDATE … FROM`` (SQLite ≥ 3.33 and PostgreSQL), then adds the indexes the metrics read,
and widens two deal indexes so that the aggregates over open and closed deals are index-only
scans. (The column lists are spelled out here, not imported: a migration must not change when
the models do.)
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN_STAGE = (
    *("workspace_id", "closed_at", "stage_id", "stage_entered_at", "pipeline_id", "amount"),
    *("created_at", "expected_close", "owner_id", "snoozed_until"),
)
PIPELINE_CLOSED = (
    *("workspace_id", "pipeline_id", "closed_at", "stage_id", "owner_id", "created_at"),
    "amount",
)

# Entering a won stage is always progress; a lost one never is (domain.metrics uses the same).
BACKFILL = """
UPDATE stage_history
SET left_at = w.next_at,
    prev_entry_at = w.prev_entry_at,
    progressed = CASE WHEN w.outcome = 'open' AND w.later_rank > w.position
                      THEN TRUE ELSE FALSE END
FROM (
    SELECT h.id AS id,
           s.outcome AS outcome,
           s.position AS position,
           lead(h.at) OVER (PARTITION BY h.deal_id ORDER BY h.at, h.id) AS next_at,
           lag(h.at) OVER (PARTITION BY h.deal_id, h.to_stage_id ORDER BY h.at, h.id)
               AS prev_entry_at,
           max(CASE WHEN s.outcome = 'won' THEN 1000000
                    WHEN s.outcome = 'lost' THEN -1
                    ELSE s.position END)
               OVER (PARTITION BY h.deal_id ORDER BY h.at, h.id
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_rank
    FROM stage_history AS h JOIN stage AS s ON s.id = h.to_stage_id
) AS w
WHERE stage_history.id = w.id
"""


def upgrade() -> None:
    with op.batch_alter_table("stage_history", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("left_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("prev_entry_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("progressed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(BACKFILL)
    with op.batch_alter_table("stage_history", schema=None, recreate="never") as batch_op:
        batch_op.create_index(
            "ix_stage_history_entered",
            ["workspace_id", "to_stage_id", "at", "prev_entry_at", "progressed", "deal_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_stage_history_left",
            ["workspace_id", "to_stage_id", "left_at", "at"],
            unique=False,
        )
    with op.batch_alter_table("deal", schema=None, recreate="never") as batch_op:
        batch_op.create_index("ix_deal_created", ["workspace_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_deal_amount", ["workspace_id", "pipeline_id", "amount"], unique=False
        )
        # Two narrow indexes widened to cover what the aggregates read.
        batch_op.drop_index("ix_deal_open_stage")
        batch_op.create_index("ix_deal_open_stage", list(OPEN_STAGE), unique=False)
        batch_op.drop_index("ix_deal_pipeline_closed")
        batch_op.create_index("ix_deal_pipeline_closed", list(PIPELINE_CLOSED), unique=False)
    with op.batch_alter_table("lead", schema=None, recreate="never") as batch_op:
        batch_op.create_index(
            "ix_lead_created",
            ["workspace_id", "created_at", "owner_id", "status_id", "deal_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_created")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_pipeline_closed")
        batch_op.create_index(
            "ix_deal_pipeline_closed", ["workspace_id", "pipeline_id", "closed_at"], unique=False
        )
        batch_op.drop_index("ix_deal_open_stage")
        batch_op.create_index(
            "ix_deal_open_stage",
            ["workspace_id", "closed_at", "stage_id", "stage_entered_at"],
            unique=False,
        )
        batch_op.drop_index("ix_deal_amount")
        batch_op.drop_index("ix_deal_created")
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_history_left")
        batch_op.drop_index("ix_stage_history_entered")
        batch_op.drop_column("progressed")
        batch_op.drop_column("prev_entry_at")
        batch_op.drop_column("left_at")
