"""a shop's bundle discount and coupons; discounted lines

Revision ID: 0025_shop_coupons_bundles
Revises: 0024_search_facets
Create Date: 2026-12-08 01:00:00.000000

A shop can set "N % off K or more items" (shop_bundles) and coupons (coupons), whose uses are
reserved by a checkout and kept when it is paid (coupon_uses); a cart carries one code per
shop (cart_coupons). Checkout and order lines keep what the deals took off them
(discount_minor, adjustments): their gross, which the split and refunds use, is what was paid.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_shop_coupons_bundles"
down_revision = "0024_search_facets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shop_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("min_items", sa.Integer(), nullable=False),
        sa.Column("percent_bps", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_items >= 2 AND min_items <= 99", name=op.f("ck_shop_bundles_min_items_in_range")
        ),
        sa.CheckConstraint(
            "percent_bps > 0 AND percent_bps <= 9000",
            name=op.f("ck_shop_bundles_percent_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_shop_bundles_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_bundles")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_shop_bundles_shop_id")),
    )
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("percent_bps", sa.Integer(), nullable=True),
        sa.Column("amount_minor", sa.Integer(), nullable=True),
        sa.Column("min_order_minor", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("once_per_buyer", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'percent' AND percent_bps > 0 AND percent_bps <= 9000 AND amount_minor IS NULL)"
            " OR (kind = 'amount' AND amount_minor > 0 AND percent_bps IS NULL)",
            name=op.f("ck_coupons_one_kind_of_value"),
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR max_uses > 0", name=op.f("ck_coupons_max_uses_positive")
        ),
        sa.CheckConstraint(
            "min_order_minor IS NULL OR min_order_minor >= 0",
            name=op.f("ck_coupons_min_order_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_coupons_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("shop_id", "code", name="uq_coupons_shop_code"),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_code", ["code"])
        batch_op.create_index(batch_op.f("ix_coupons_shop_id"), ["shop_id"])
    op.create_table(
        "coupon_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("checkout_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("discount_minor", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_uses_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkout_id"],
            ["checkouts.id"],
            name=op.f("fk_coupon_uses_checkout_id_checkouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["users.id"], name=op.f("fk_coupon_uses_buyer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_uses")),
        sa.UniqueConstraint("coupon_id", "checkout_id", name="uq_coupon_uses_coupon_checkout"),
    )
    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_uses_coupon_status", ["coupon_id", "status"])
        batch_op.create_index(batch_op.f("ix_coupon_uses_checkout_id"), ["checkout_id"])
        batch_op.create_index(batch_op.f("ix_coupon_uses_buyer_id"), ["buyer_id"])
    op.create_table(
        "cart_coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"],
            ["carts.id"],
            name=op.f("fk_cart_coupons_cart_id_carts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_cart_coupons_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_coupons")),
        sa.UniqueConstraint("cart_id", "shop_id", name="uq_cart_coupons_cart_shop"),
    )
    with op.batch_alter_table("cart_coupons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cart_coupons_cart_id"), ["cart_id"])
    for table in ("checkout_lines", "order_lines"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("discount_minor", sa.Integer(), nullable=False, server_default="0")
            )
            batch_op.add_column(
                sa.Column("adjustments", sa.JSON(), nullable=False, server_default="[]")
            )
    for table in ("checkouts", "orders"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("discount_minor", sa.Integer(), nullable=False, server_default="0")
            )


def downgrade():
    for table in ("checkouts", "orders"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("discount_minor")
    for table in ("checkout_lines", "order_lines"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("adjustments")
            batch_op.drop_column("discount_minor")
    op.drop_table("cart_coupons")
    op.drop_table("coupon_uses")
    op.drop_table("coupons")
    op.drop_table("shop_bundles")
