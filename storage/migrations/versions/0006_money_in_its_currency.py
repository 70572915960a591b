"""exchange rates per workspace; amount indexes cover the currency; history keeps its currency

Revision ID: 0006
Revises: 0012
Create Date: 2026-12-03 02:30:00

A deal keeps the currency it was written in and every total is per currency or converted at
the workspace's rates (README "Money in more than one currency"). ``exchange_rate`` holds
the rates an admin sets. The indexes that sum ``amount`` now cover ``currency`` as well, so
the grouped totals stay index-only scans; ``ix_deal_amount`` (the weekly movers, largest
first) walks one currency at a time. Amount and MRR history rows written before this
revision get the currency their deal has now (the best that is known) written into them,
so they are never redrawn in another currency later.
"""

import json

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0012"
branch_labels = None
depends_on = None

# Spelled out, not imported: a migration must not change when the models do.
OPEN_STAGE = (
    *("workspace_id", "closed_at", "stage_id", "stage_entered_at", "pipeline_id", "amount"),
    *("created_at", "expected_close", "owner_id", "snoozed_until"),
)
PIPELINE_CLOSED = (
    *("workspace_id", "pipeline_id", "closed_at", "stage_id", "owner_id", "created_at"),
    "amount",
)
OWNER = ("workspace_id", "owner_id", "closed_at", "amount")
AMOUNT = ("workspace_id", "pipeline_id", "amount")


def _indexes(with_currency: bool) -> None:
    extra = ["currency"] if with_currency else []
    amount = [*AMOUNT[:2], "currency", "amount"] if with_currency else list(AMOUNT)
    with op.batch_alter_table("deal", schema=None, recreate="never") as batch_op:
        for name, columns in (
            ("ix_deal_open_stage", [*OPEN_STAGE, *extra]),
            ("ix_deal_pipeline_closed", [*PIPELINE_CLOSED, *extra]),
            ("ix_deal_owner", [*OWNER, *extra]),
            ("ix_deal_amount", amount),
        ):
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        has_stats = bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        ).first()
        if has_stats:
            bind.exec_driver_sql("ANALYZE deal")


def _history_currency() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT a.id, a.kind, a.text, d.currency FROM activity a JOIN deal d"
            " ON d.id = a.deal_id WHERE a.kind IN ('amount', 'renewal')"
        )
    ).all()
    for activity_id, kind, text, currency in rows:
        try:
            params = json.loads(text or "{}")
        except ValueError:
            continue
        if not isinstance(params, dict):
            continue
        keys = ("old_currency", "new_currency") if kind == "amount" else ("currency",)
        for key in keys:
            params.setdefault(key, currency)
        bind.execute(
            sa.text("UPDATE activity SET text = :text WHERE id = :id"),
            {"text": json.dumps(params, ensure_ascii=False), "id": activity_id},
        )


def upgrade() -> None:
    op.create_table(
        "exchange_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["set_by_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "base", "currency"),
    )
    op.create_index(
        op.f("ix_exchange_rate_workspace_id"), "exchange_rate", ["workspace_id"], unique=False
    )
    _indexes(with_currency=True)
    _history_currency()


def downgrade() -> None:
    _indexes(with_currency=False)
    op.drop_index(op.f("ix_exchange_rate_workspace_id"), table_name="exchange_rate")
    op.drop_table("exchange_rate")
