"""returns: a shop's return window, and returns with their lines, photos and steps

Revision ID: 0023_returns
Revises: 0020_saved_alerts
Create Date: 2026-12-08 01:00:00.000000

A shop sets how many days after delivery it takes returns back (0: none; 30 for the shops
that exist, as most marketplaces default); each order keeps the window it was sold with. A
return names some lines and quantities of one order and moves through its steps; its refund
is an ordinary refund of the order.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_returns"
down_revision = "0020_saved_alerts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("return_window_days", sa.Integer(), nullable=False, server_default="30")
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_window_days", sa.Integer(), nullable=True))
    op.create_table(
        "return_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("refusal_reason", sa.Text(), nullable=False),
        sa.Column("escalation_note", sa.Text(), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restock", sa.Boolean(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["users.id"],
            name=op.f("fk_return_requests_buyer_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_return_requests_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["refunds.id"],
            name=op.f("fk_return_requests_refund_id_refunds"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_return_requests_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_requests")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_return_requests_refund_id")),
    )
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.create_index("ix_return_requests_order", ["order_id"])
        batch_op.create_index("ix_return_requests_shop_status", ["shop_id", "status"])
        batch_op.create_index("ix_return_requests_status_due", ["status", "due_at"])
    op.create_table(
        "return_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_return_lines_order_line_id_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_requests.id"],
            name=op.f("fk_return_lines_return_id_return_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_lines")),
    )
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_lines_return_id"), ["return_id"])
        batch_op.create_index(batch_op.f("ix_return_lines_order_line_id"), ["order_line_id"])
    op.create_table(
        "return_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_requests.id"],
            name=op.f("fk_return_photos_return_id_return_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_photos")),
    )
    with op.batch_alter_table("return_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_photos_return_id"), ["return_id"])
    op.create_table(
        "return_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_return_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_requests.id"],
            name=op.f("fk_return_events_return_id_return_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_events")),
    )
    with op.batch_alter_table("return_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_events_return_id"), ["return_id"])


def downgrade():
    op.drop_table("return_events")
    op.drop_table("return_photos")
    op.drop_table("return_lines")
    op.drop_table("return_requests")
    # Not in batch mode: on SQLite that would copy and drop `shops` and `orders`, which other
    # tables' foreign keys name; SQLite (3.35+) drops a plain column in place.
    op.drop_column("orders", "return_window_days")
    op.drop_column("shops", "return_window_days")
