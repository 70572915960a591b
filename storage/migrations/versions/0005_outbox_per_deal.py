"""The outbox carries every post after an ack, in order per deal; a deal keeps its thread link

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 23:00:00

Deal cards, card updates and thread replies of commands, buttons and modals are recorded in
the outbox in the same transaction as the change (bot.deliver). ``outbox.deal_id`` lets the
drainer send one deal's posts in order: a row waits while an earlier row of the same deal
is unsent, so a card update never races the card's own post. ``deal.thread_permalink`` is
stored when the card is posted, so ``/deal show`` answers in the ack without asking Slack.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deal_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_deal_id_deal", "deal", ["deal_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_outbox_deal", ["deal_id", "id"], unique=False)
    # Not in batch mode: SQLite adds (and drops) a column in place, and rebuilding ``deal``
    # with foreign keys on would cascade-delete its stage history.
    op.add_column("deal", sa.Column("thread_permalink", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("deal", "thread_permalink")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_deal")
        batch_op.drop_constraint("fk_outbox_deal_id_deal", type_="foreignkey")
        batch_op.drop_column("deal_id")
