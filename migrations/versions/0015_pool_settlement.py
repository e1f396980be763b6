"""collective pool: a month is distributed once its contributions are settled

Revision ID: 0015_pool_settlement
Revises: 0014_journal_append_only
Create Date: 2026-12-07 05:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_pool_settlement'
down_revision = '0014_journal_append_only'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
