"""saved things: price-drop and back-in-stock alerts, and their email setting

Revision ID: 0020_saved_alerts
Revises: 0019_search_stems_and_typos
Create Date: 2026-12-07 21:30:00.000000

People who saved (liked) a product hear when its price goes down or a sold-out variant comes
back. Each piece of news is one row, unique by what it says, so the same drop or restock
reported twice tells nobody twice; `email_saved` lets a person turn the emails off.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_saved_alerts"
down_revision = "0019_search_stems_and_typos"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("old_price_minor", sa.Integer(), nullable=True),
        sa.Column("new_price_minor", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("notified_through", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_saved_alerts_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_saved_alerts_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_saved_alerts_dedupe_key")),
    )
    with op.batch_alter_table("saved_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_alerts_product_id"), ["product_id"])
    with op.batch_alter_table("social_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_saved", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table("social_settings", schema=None) as batch_op:
        batch_op.drop_column("email_saved")
    with op.batch_alter_table("saved_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_alerts_product_id"))
    op.drop_table("saved_alerts")
