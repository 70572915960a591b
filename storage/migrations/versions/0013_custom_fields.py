"""Custom fields: a workspace's own fields and their typed values

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 06:30:00

``custom_field`` defines a field (``/pipeline field new "Budget" type:money``);
``custom_value`` holds its values in typed columns, indexed per (workspace, field, value), so
``/deal list budget>=1억 industry:제조`` is index ranges, not a scan of strings.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0013"
down_revision = "0019"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_custom_value_record": ["field_id", "record_id"],
    "ix_custom_value_text": ["workspace_id", "field_id", "value_text", "record_id"],
    "ix_custom_value_number": [
        "workspace_id",
        "field_id",
        "value_number",
        "value_text",
        "record_id",
    ],
    "ix_custom_value_date": ["workspace_id", "field_id", "value_date", "record_id"],
}


def upgrade() -> None:
    op.create_table(
        "custom_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=True),
        sa.Column("required_stage_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["required_stage_id"], ["stage.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "entity", "key"),
    )
    op.create_index("ix_custom_field_workspace_id", "custom_field", ["workspace_id"])
    op.create_table(
        "custom_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("value_text", sa.String(length=500), nullable=True),
        sa.Column("value_number", storage.types.Money(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["field_id"], ["custom_field.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "custom_value", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="custom_value")
    op.drop_table("custom_value")
    op.drop_index("ix_custom_field_workspace_id", table_name="custom_field")
    op.drop_table("custom_field")
