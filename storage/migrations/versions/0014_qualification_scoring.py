"""BANT qualification on deals, lead scores and the workspace's scoring rules

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03 06:20:00

``deal.qualification`` holds one bit per BANT criterion met (domain.qualify). A lead gets its
job title (read by the title rules), its score as last computed, and its MQL crossings
(``above_mql``, ``mql_crossings``: each crossing upwards tells the owner once, keyed by its
count in the outbox). ``lead_scoring`` is a workspace's rules (JSON), threshold, activity
window and half-life; no row means the default rules (domain.scoring.DEFAULT_RULES).
Indexes find a lead's notes and tasks, and the lead a deal came from, when one lead is scored
again. Columns are added in place (no batch mode: rebuilding ``deal`` or ``lead`` on SQLite with
foreign keys on would cascade-delete their history and tasks, see 0005 and 0010).
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0014"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    zero = sa.text("0")
    op.add_column(
        "deal", sa.Column("qualification", sa.Integer(), nullable=False, server_default=zero)
    )
    op.add_column("lead", sa.Column("job_title", sa.String(length=200), nullable=True))
    op.add_column("lead", sa.Column("score", sa.Integer(), nullable=False, server_default=zero))
    op.add_column(
        "lead", sa.Column("scored_at", storage.types.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "lead", sa.Column("above_mql", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "lead", sa.Column("mql_crossings", sa.Integer(), nullable=False, server_default=zero)
    )
    op.create_index("ix_lead_score", "lead", ["workspace_id", "score", "number"], unique=False)
    op.create_index("ix_lead_deal", "lead", ["deal_id"], unique=False)
    # ix_activity_lead (a lead's notes by time) came with 0015, inbound leads.
    op.create_index("ix_task_lead", "task", ["lead_id", "status"], unique=False)
    op.create_table(
        "lead_scoring",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("half_life_days", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["updated_by_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id"),
    )


def downgrade() -> None:
    op.drop_table("lead_scoring")
    op.drop_index("ix_task_lead", table_name="task")
    op.drop_index("ix_lead_deal", table_name="lead")
    op.drop_index("ix_lead_score", table_name="lead")
    for column in ("mql_crossings", "above_mql", "scored_at", "score", "job_title"):
        op.drop_column("lead", column)
    op.drop_column("deal", "qualification")
