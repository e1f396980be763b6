"""money races: refunds matched to their intent, payout items claimed across the Stripe call

Revision ID: 0013_money_races
Revises: 0012_search_index
Create Date: 2026-12-07 05:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_money_races'
down_revision = '0012_search_index'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
