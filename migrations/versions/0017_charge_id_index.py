"""checkouts: an index on the Stripe charge id

Revision ID: 0017_charge_id_index
Revises: 0016_two_step
Create Date: 2026-12-09 09:00:00.000000

Stripe's webhooks (a refund, a dispute) and held refunds name a charge, and the payout run's
planning finds each charge's transfer group, all by looking checkouts up by their charge id:
without an index each look-up read the whole table.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_charge_id_index"
down_revision = "0016_two_step"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkouts_stripe_charge_id"), ["stripe_charge_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkouts_stripe_charge_id"))
