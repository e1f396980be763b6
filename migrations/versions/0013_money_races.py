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
    op.create_table(
        'held_refunds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stripe_refund_id', sa.String(length=255), nullable=False),
        sa.Column('charge_id', sa.String(length=255), nullable=False),
        sa.Column('amount_minor', sa.Integer(), nullable=False),
        sa.Column('booked_minor', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('why', sa.String(length=255), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('amount_minor > 0', name=op.f('ck_held_refunds_amount_positive')),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['users.id'],
            name=op.f('fk_held_refunds_decided_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_held_refunds')),
        sa.UniqueConstraint('stripe_refund_id', name=op.f('uq_held_refunds_stripe_refund_id')),
    )
    with op.batch_alter_table('held_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_refunds_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_refunds_status'), ['status'], unique=False)

    op.create_table(
        'batch_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch', sa.String(length=80), nullable=False),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('occurrences', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_failures')),
        sa.UniqueConstraint('batch', 'subject', name='uq_batch_failures_subject'),
    )

    with op.batch_alter_table('payout_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_sent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('payout_items', schema=None) as batch_op:
        batch_op.drop_column('first_sent_at')
        batch_op.drop_column('claimed_until')
    op.drop_table('batch_failures')
    with op.batch_alter_table('held_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_refunds_status'))
        batch_op.drop_index(batch_op.f('ix_held_refunds_charge_id'))
    op.drop_table('held_refunds')
