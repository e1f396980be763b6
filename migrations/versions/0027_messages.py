"""messages: conversations between buyers and shops, their pictures, blocks, batched e-mails

Revision ID: 0027_messages
Revises: 0026_polls
Create Date: 2026-12-08 01:00:00.000000

A buyer writes to a shop about a product, an order or nothing; the shop's owner answers.
Conversations keep each side's unread count and how far each side read (the header's badge
and "Seen"); a message may carry pictures; a person may block another; the e-mails of new
messages wait in `message_digests` for their window; `email_messages` turns them off.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_messages"
down_revision = "0026_polls"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sender_id", sa.Integer(), nullable=True),
        sa.Column("last_preview", sa.String(length=140), nullable=False),
        sa.Column("buyer_unread", sa.Integer(), nullable=False),
        sa.Column("seller_unread", sa.Integer(), nullable=False),
        sa.Column("buyer_seen_id", sa.Integer(), nullable=True),
        sa.Column("seller_seen_id", sa.Integer(), nullable=True),
        sa.Column("buyer_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seller_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "buyer_unread >= 0 AND seller_unread >= 0",
            name=op.f("ck_conversations_unread_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["users.id"],
            name=op.f("fk_conversations_buyer_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_sender_id"],
            ["users.id"],
            name=op.f("fk_conversations_last_sender_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_conversations_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_conversations_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_conversations_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_buyer_last", ["buyer_id", "last_message_at"])
        batch_op.create_index("ix_conversations_shop_last", ["shop_id", "last_message_at"])
        batch_op.create_index("ix_conversations_buyer_unread", ["buyer_id", "buyer_unread"])
        batch_op.create_index("ix_conversations_shop_unread", ["shop_id", "seller_unread"])
        batch_op.create_index(batch_op.f("ix_conversations_product_id"), ["product_id"])
        batch_op.create_index(batch_op.f("ix_conversations_order_id"), ["order_id"])

    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_conversation_messages_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_messages_conversation", ["conversation_id", "id"])
        batch_op.create_index(batch_op.f("ix_conversation_messages_sender_id"), ["sender_id"])

    op.create_table(
        "message_pictures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("image_key", sa.String(length=255), nullable=False),
        sa.Column("thumb_key", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_message_pictures_message_id_conversation_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_pictures")),
    )
    with op.batch_alter_table("message_pictures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_pictures_message_id"), ["message_id"])

    op.create_table(
        "person_blocks",
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("blocked_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("blocker_id <> blocked_id", name=op.f("ck_person_blocks_not_self")),
        sa.ForeignKeyConstraint(
            ["blocked_id"],
            ["users.id"],
            name=op.f("fk_person_blocks_blocked_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocker_id"],
            ["users.id"],
            name=op.f("fk_person_blocks_blocker_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_person_blocks")),
    )
    with op.batch_alter_table("person_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_person_blocks_blocked", ["blocked_id"])

    op.create_table(
        "message_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_message_id", sa.Integer(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_message_digests_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_message_digests_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_digests")),
        sa.UniqueConstraint(
            "conversation_id", "recipient_id", name=op.f("uq_message_digests_pair")
        ),
    )
    with op.batch_alter_table("message_digests", schema=None) as batch_op:
        batch_op.create_index("ix_message_digests_pending", ["pending_since"])

    with op.batch_alter_table("social_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_messages", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table("social_settings", schema=None) as batch_op:
        batch_op.drop_column("email_messages")
    op.drop_table("message_digests")
    op.drop_table("person_blocks")
    op.drop_table("message_pictures")
    op.drop_table("conversation_messages")
    op.drop_table("conversations")
