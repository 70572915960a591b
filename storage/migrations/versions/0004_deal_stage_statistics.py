"""PostgreSQL: tell the planner a deal's stage decides its pipeline

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:50:00

The board and forecast filter ``pipeline_id = P AND stage_id IN (P's stages)``. Without
extended statistics PostgreSQL multiplies the two selectivities as if they were independent,
expects a few hundred rows instead of tens of thousands, and picks a plain index scan with
heap fetches over the covering ``ix_deal_open_stage``: 31 ms instead of 7 ms for a
19k-deal pipeline at 1M deals. Functional-dependency statistics fix the estimate. SQLite has
no such thing and needs none (its planner takes the covering index).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS st_deal_pipeline_stage (dependencies) "
            "ON workspace_id, pipeline_id, stage_id FROM deal"
        )
        op.execute("ANALYZE deal")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_deal_pipeline_stage")
