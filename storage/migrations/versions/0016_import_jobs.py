"""Imports from Slack: the file and the modal's choices on the run, and a heartbeat

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-03 06:30:00

``/pipeline import`` records its run before the import starts: the Slack file id, the
choices made in the modal (entity, column mapping, skip invalid rows, who and where to
report, as JSON) and, while it runs, a heartbeat after every batch. A run whose process
died (its heartbeat older than a few minutes) is downloaded again and finished by the next
process that starts (domain.import_jobs); the rows already written plan as unchanged.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0016"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite adds columns in place (see 0008).
    op.add_column("import_run", sa.Column("file_id", sa.String(length=32), nullable=True))
    op.add_column("import_run", sa.Column("options", sa.Text(), nullable=True))
    op.add_column(
        "import_run",
        sa.Column("heartbeat_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("import_run", "heartbeat_at")
    op.drop_column("import_run", "options")
    op.drop_column("import_run", "file_id")
