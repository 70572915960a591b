"""Cadences (a stage's follow-up steps) and workflows (trigger + conditions → actions)

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 02:30:00

``cadence`` is attached to one stage; its ``cadence_step`` rows become the owner's tasks when
a deal enters the stage (domain.cadences). ``workflow`` keeps its conditions and actions as
JSON, how often it fired, and its round-robin cursor; ``workflow_run`` holds one row per
workflow and change, so a retried request never runs a workflow twice (domain.workflows).
Workspaces that exist before this revision start with no cadence and no workflow; new ones
get the defaults (domain.workspaces).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def _id_and_workspace() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
    ]


def _workspace_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "cadence",
        *_id_and_workspace(),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stage_id"], ["stage.id"], ondelete="CASCADE"),
        _workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stage_id", name="uq_cadence_stage"),
    )
    op.create_index("ix_cadence_workspace_id", "cadence", ["workspace_id"])
    op.create_table(
        "cadence_step",
        *_id_and_workspace(),
        sa.Column("cadence_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("day_offset", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["cadence_id"], ["cadence.id"], ondelete="CASCADE"),
        _workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cadence_step_workspace_id", "cadence_step", ["workspace_id"])
    op.create_index("ix_cadence_step_cadence_id", "cadence_step", ["cadence_id"])
    op.create_table(
        "workflow",
        *_id_and_workspace(),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stage_id"], ["stage.id"], ondelete="CASCADE"),
        _workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workflow_workspace_id", "workflow", ["workspace_id"])
    op.create_table(
        "workflow_run",
        *_id_and_workspace(),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflow.id"], ondelete="CASCADE"),
        _workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "change", name="uq_workflow_run"),
    )
    op.create_index("ix_workflow_run_workspace_id", "workflow_run", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("workflow_run")
    op.drop_table("workflow")
    op.drop_table("cadence_step")
    op.drop_table("cadence")
