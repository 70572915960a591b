"""workspace.config_version: a counter bumped by every change to what requests cache

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-03 06:30:00

Each serving process keeps a workspace's settings, its members, pipelines and stages in
memory between requests (bot.context). Every change to one of those rows adds 1 to its
workspace's ``config_version`` in the same transaction (storage.config_version), and a
request reads that one integer first, so a change made by any process is seen by the next
request everywhere.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "workspace",
        sa.Column("config_version", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("workspace", "config_version")
