"""collective pool: a month is distributed once its contributions are settled

Revision ID: 0015_pool_settlement
Revises: 0014_journal_append_only
Create Date: 2026-12-07 05:20:00.000000

A month's distribution shares what of its contributions had settled; what still waited (the
hold, delivery, a dispute) is carried to the next distribution, and the month's record keeps
how much, so a re-run can say so instead of a bare amount.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_pool_settlement"
down_revision = "0014_journal_append_only"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pool_distributions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("carried_minor", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("pool_distributions", schema=None) as batch_op:
        batch_op.drop_column("carried_minor")
