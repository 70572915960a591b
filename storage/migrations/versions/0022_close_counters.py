"""Close counters for probability calibration (issue 17)

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-03 11:00:00

- ``close_counter``: per (workspace, UTC day of ``closed_at``, the closed deal's stage, a stage
  its history went into) how many closed deals, kept by domain.close_counters in every close's
  and reopen's transaction; filled here from the closed deals and their histories.

(The expressions are spelled out here, not imported: a migration must not change when the
code does.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "close_counter",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("reached_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "day", "stage_id", "reached_id"),
    )
    day = "CAST(timezone('UTC', d.closed_at) AS DATE)" if postgres else "date(d.closed_at)"
    op.execute(
        "INSERT INTO close_counter (workspace_id, day, stage_id, reached_id, count)"
        f" SELECT d.workspace_id, {day}, d.stage_id, h.to_stage_id, COUNT(*)"
        " FROM deal AS d"
        " JOIN (SELECT DISTINCT deal_id, to_stage_id FROM stage_history) AS h"
        " ON h.deal_id = d.id"
        " WHERE d.closed_at IS NOT NULL"
        f" GROUP BY d.workspace_id, {day}, d.stage_id, h.to_stage_id"
    )


def downgrade() -> None:
    op.drop_table("close_counter")
