"""Entry-day counters and the snoozed deals' index: the board's stalled count (issue 17)

Revision ID: 0020
Revises: 0013
Create Date: 2026-12-03 10:00:00

- ``entry_day_counter``: per (workspace, pipeline, stage, UTC day of ``deal.stage_entered_at``)
  the open deals that entered the stage that day, kept by domain.counters beside the board
  counters; filled here from the existing deals. The board's stalled count sums the days
  before each stage's cut-off instead of reading every stalled deal.
- ``ix_deal_snoozed``: open deals with a snooze, by pipeline and snooze date (partial,
  covering the stage and its entry), which the stalled count takes out. Not led by the
  workspace: SQLite's planner would take ix_deal_open_stage's (workspace, closed_at) instead.

(The expressions are spelled out here, not imported: a migration must not change when the
code does.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0013"
branch_labels = None
depends_on = None

SNOOZED = [
    *("pipeline_id", "snoozed_until", "stage_id", "stage_entered_at"),
    "closed_at",  # always NULL in the index, but SQLite calls it covering only with it
]
OPEN_SNOOZED = "closed_at IS NULL AND snoozed_until IS NOT NULL"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "entry_day_counter",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stage_id"], ["stage.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "pipeline_id", "stage_id", "day"),
    )
    # SQLite keeps stage_entered_at as naive UTC text ("YYYY-MM-DD HH:MM:SS.ffffff").
    day = (
        "CAST(timezone('UTC', stage_entered_at) AS DATE)"
        if postgres
        else "substr(stage_entered_at, 1, 10)"
    )
    op.execute(
        "INSERT INTO entry_day_counter (workspace_id, pipeline_id, stage_id, day, count)"
        f" SELECT workspace_id, pipeline_id, stage_id, {day}, COUNT(*)"
        " FROM deal WHERE closed_at IS NULL"
        f" GROUP BY workspace_id, pipeline_id, stage_id, {day}"
    )
    op.create_index(
        "ix_deal_snoozed",
        "deal",
        SNOOZED,
        unique=False,
        postgresql_where=sa.text(OPEN_SNOOZED),
        sqlite_where=sa.text(OPEN_SNOOZED),
    )


def downgrade() -> None:
    op.drop_index("ix_deal_snoozed", table_name="deal")
    op.drop_table("entry_day_counter")
