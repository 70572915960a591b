"""A renewal deal points at the won deal it renews (at most one per won deal)

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-03 02:15:00

``deal.renewal_of_id`` links a deal in the Renewals pipeline to the won deal it renews
(domain.renewals.create_renewal). The unique index makes "a won deal gets at most one
renewal" a database fact, so two clicks or a button and a workflow cannot make two; NULLs
(every other deal) are not compared, on SQLite and PostgreSQL alike.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite adds (and drops) a column in place, and rebuilding ``deal``
    # with foreign keys on would cascade-delete its stage history (see 0005). SQLite cannot
    # ALTER a constraint in, so there the reference is written inline with the column.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE deal ADD COLUMN renewal_of_id INTEGER REFERENCES deal (id)")
    else:
        op.add_column("deal", sa.Column("renewal_of_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            None,
            "deal",
            "deal",
            ["renewal_of_id"],
            ["id"],
        )
    op.create_index("uq_deal_renewal_of", "deal", ["renewal_of_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_deal_renewal_of", table_name="deal")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("deal_renewal_of_id_fkey", "deal", type_="foreignkey")
    op.drop_column("deal", "renewal_of_id")
