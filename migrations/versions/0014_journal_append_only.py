"""journal: append-only on both engines (no UPDATE, no DELETE)

Revision ID: 0014_journal_append_only
Revises: 0013_money_races
Create Date: 2026-12-07 05:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_journal_append_only'
down_revision = '0013_money_races'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
