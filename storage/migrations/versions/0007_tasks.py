"""Tasks people create: a number per workspace, a kind, a status, and an origin for generated ones

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03 02:15:00

``task.done`` becomes ``status`` (open, done, skipped) with ``done_at``; ``number`` is the
``T3`` people type, allocated from ``workspace.next_task_number`` like deals and leads.
``origin`` is the idempotency key of a generated task (a cadence step, a workflow action):
unique per workspace when set, so a retry or a second replica finds the task already made.
``reminded_due_at`` is the due time already reminded: the reminders job reads only tasks whose
due time has not been reminded yet. A member gets a timezone (due times are read in it) and can
turn off the morning "today" DM.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "workspace",
        sa.Column("next_task_number", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "member", sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
    )
    op.add_column(
        "member",
        sa.Column("task_morning", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="todo",
            )
        )
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="open",
            )
        )
        batch_op.add_column(
            sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reminded_due_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stage_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE task SET status = CASE WHEN done THEN 'done' ELSE 'open' END, "
        "number = (SELECT count(*) FROM task AS t2 "
        "WHERE t2.workspace_id = task.workspace_id AND t2.id <= task.id)"
    )
    op.execute(
        "UPDATE workspace SET next_task_number = "
        "(SELECT count(*) FROM task WHERE task.workspace_id = workspace.id)"
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_task_due")
        batch_op.drop_column("done")
        batch_op.create_unique_constraint("uq_task_number", ["workspace_id", "number"])
        batch_op.create_unique_constraint("uq_task_origin", ["workspace_id", "origin"])
        batch_op.create_foreign_key(
            "fk_task_created_by_id_member", "member", ["created_by_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            "fk_task_stage_id_stage", "stage", ["stage_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_task_due", ["workspace_id", "status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_task_owner", ["workspace_id", "owner_id", "status", "due_at"], unique=False
        )
        batch_op.create_index("ix_task_deal", ["deal_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE task SET done = (status <> 'open')")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_deal")
        batch_op.drop_index("ix_task_owner")
        batch_op.drop_index("ix_task_due")
        batch_op.drop_constraint("fk_task_stage_id_stage", type_="foreignkey")
        batch_op.drop_constraint("fk_task_created_by_id_member", type_="foreignkey")
        batch_op.drop_constraint("uq_task_origin", type_="unique")
        batch_op.drop_constraint("uq_task_number", type_="unique")
        for column in ("stage_id", "created_by_id", "origin", "reminded_due_at", "done_at"):
            batch_op.drop_column(column)
        for column in ("status", "kind", "number"):
            batch_op.drop_column(column)
        batch_op.create_index("ix_task_due", ["workspace_id", "done", "due_at"], unique=False)
    op.drop_column("member", "task_morning")
    op.drop_column("member", "timezone")
    op.drop_column("workspace", "next_task_number")
