"""Board counters, "stalled since" on deals, and the scheduler's job leases (issue 17)

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-03 06:40:00

- ``board_counter``: per (workspace, pipeline, stage, currency) the open deals' count and
  amount (raw hundredths), kept by domain.counters in every change's transaction; filled
  here from the existing deals.
- ``deal.stalled_since``: a lower bound of when the deal can first be stalled in its stage
  (stage entry + threshold − 1 day, domain.stall.stalled_since), NULL in stages without a
  threshold; filled here for every deal, with the index the stall jobs read.
- ``job_lease``: per (workspace, job) the current slot, which one scheduler process at a time
  claims (scheduler.leases), so several processes share the planning.

(The expressions are spelled out here, not imported: a migration must not change when the
code does.)
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0019"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "board_counter",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stage_id"], ["stage.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "pipeline_id", "stage_id", "currency"),
    )
    op.execute(
        "INSERT INTO board_counter (workspace_id, pipeline_id, stage_id, currency, count, amount)"
        " SELECT workspace_id, pipeline_id, stage_id, currency, COUNT(*), SUM(amount)"
        " FROM deal WHERE closed_at IS NULL"
        " GROUP BY workspace_id, pipeline_id, stage_id, currency"
    )
    op.create_table(
        "job_lease",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("leased_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "job"),
    )
    op.create_index("ix_job_lease_open", "job_lease", ["job", "done_at", "workspace_id"])
    # Not in batch mode: SQLite adds the column in place (a rebuild of ``deal`` would cascade
    # its foreign keys, see 0005).
    op.add_column(
        "deal",
        sa.Column("stalled_since", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    if postgres:
        op.execute(
            "UPDATE deal SET stalled_since = deal.stage_entered_at"
            " + make_interval(0, 0, 0, stage.stall_days - 1)"
            " FROM stage WHERE stage.id = deal.stage_id AND stage.stall_days IS NOT NULL"
        )
    else:  # naive UTC text: datetime() shifts the whole seconds, the fraction is kept
        op.execute(
            "UPDATE deal SET stalled_since = datetime(deal.stage_entered_at,"
            " printf('%+d days', stage.stall_days - 1)) || substr(deal.stage_entered_at, 20)"
            " FROM stage WHERE stage.id = deal.stage_id AND stage.stall_days IS NOT NULL"
        )
    op.create_index(
        "ix_deal_stalled", "deal", ["workspace_id", "closed_at", "stalled_since"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_deal_stalled", table_name="deal")
    op.drop_column("deal", "stalled_since")
    op.drop_table("job_lease")
    op.drop_table("board_counter")
