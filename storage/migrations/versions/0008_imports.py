"""Imports: external ids, member emails, and a record of every import run

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 02:20:00

``external_id`` on deals, leads, companies and people is the row's id in the system it was
imported from; a unique index per workspace makes re-importing a file update instead of
duplicate. ``member.email`` lets an import name owners by email. ``import_run`` records each
import (who, which file, counts) and ``stage_history.import_run_id`` marks the stays an import
wrote, so a deal's history says it arrived by import.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("deal", "lead", "company", "person")


def upgrade() -> None:
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("by_member_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by_member_id"], ["member.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_run_workspace_id", "import_run", ["workspace_id"])
    # Not in batch mode: SQLite adds columns in place; rebuilding ``deal`` with foreign keys
    # on would cascade-delete its stage history (see 0005).
    for table in TABLES:
        op.add_column(table, sa.Column("external_id", sa.String(length=100), nullable=True))
        op.create_index(
            f"uq_{table}_external_id", table, ["workspace_id", "external_id"], unique=True
        )
    op.add_column("member", sa.Column("email", sa.String(length=320), nullable=True))
    op.add_column("stage_history", sa.Column("import_run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("stage_history", "import_run_id")
    op.drop_column("member", "email")
    for table in TABLES:
        op.drop_index(f"uq_{table}_external_id", table_name=table)
        op.drop_column(table, "external_id")
    op.drop_index("ix_import_run_workspace_id", table_name="import_run")
    op.drop_table("import_run")
