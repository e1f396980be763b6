"""Messages' tables: conversations between a buyer and a shop, their messages and pictures,
who blocked whom, and the e-mails of new messages waiting for their window to pass.

A conversation keeps what its inbox rows show (the last message's first words, who sent it,
each side's unread count and how far each side has read), so an inbox page is one query and
the header's unread badge counts rows without reading any message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model
from app.models import utcnow
from marketplace.models import Product, Shop
from marketplace.order_models import Order

BODY_MAX = 2_000
PREVIEW_MAX = 140
SUBJECT_MAX = 200
PICTURES_MAX = 4


class Side:
    """Which side of a conversation a person is on."""

    BUYER = "buyer"
    SELLER = "seller"


class Conversation(Model):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_buyer_last", "buyer_id", "last_message_at"),
        Index("ix_conversations_shop_last", "shop_id", "last_message_at"),
        Index("ix_conversations_buyer_unread", "buyer_id", "buyer_unread"),
        Index("ix_conversations_shop_unread", "shop_id", "seller_unread"),
        CheckConstraint("buyer_unread >= 0 AND seller_unread >= 0", name="unread_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # What it is about, if anything: a product or one of the buyer's orders from the shop.
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # The product's title or the order's reference when it started (they may change later).
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    last_message_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    last_sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_preview: Mapped[str] = mapped_column(String(PREVIEW_MAX), default="")
    # Messages from the other side each has not read yet.
    buyer_unread: Mapped[int] = mapped_column(default=0)
    seller_unread: Mapped[int] = mapped_column(default=0)
    # The last message each side has seen, and when ("Seen" under the other's message).
    buyer_seen_id: Mapped[int | None]
    seller_seen_id: Mapped[int | None]
    buyer_seen_at: Mapped[datetime | None]
    seller_seen_at: Mapped[datetime | None]

    shop: Mapped[Shop] = relationship()
    buyer: Mapped[User] = relationship(foreign_keys=[buyer_id])
    product: Mapped[Product | None] = relationship()
    order: Mapped[Order | None] = relationship()

    # Set by the services for the person looking: which side they are on.
    side = Side.BUYER

    def unread_for(self, side: str) -> int:
        return self.buyer_unread if side == Side.BUYER else self.seller_unread

    @property
    def unread(self) -> int:
        return self.unread_for(self.side)

    @property
    def other_person(self) -> User:
        """The person on the other side: the shop's owner for the buyer, the buyer for it."""
        return self.shop.owner if self.side == Side.BUYER else self.buyer

    @property
    def other_seen_id(self) -> int | None:
        return self.seller_seen_id if self.side == Side.BUYER else self.buyer_seen_id

    @property
    def other_seen_at(self) -> datetime | None:
        return self.seller_seen_at if self.side == Side.BUYER else self.buyer_seen_at


class Message(Model):
    __tablename__ = "conversation_messages"
    __table_args__ = (Index("ix_conversation_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    # Set by a moderator after a report: the message shows as removed to both sides.
    hidden_at: Mapped[datetime | None]

    sender: Mapped[User] = relationship()
    conversation: Mapped[Conversation] = relationship()
    pictures: Mapped[list[MessagePicture]] = relationship(
        back_populates="message",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MessagePicture.position",
    )


class MessagePicture(Model):
    """A picture sent with a message, checked and re-encoded; served only to the two sides
    (never by its media key, which is not shown)."""

    __tablename__ = "message_pictures"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    image_key: Mapped[str] = mapped_column(String(255))
    thumb_key: Mapped[str] = mapped_column(String(255))
    width: Mapped[int]
    height: Mapped[int]

    message: Mapped[Message] = relationship(back_populates="pictures")


class Block(Model):
    """`blocker` blocked `blocked`: neither can start or continue a conversation with the
    other until it is lifted."""

    __tablename__ = "person_blocks"
    __table_args__ = (
        CheckConstraint("blocker_id <> blocked_id", name="not_self"),
        Index("ix_person_blocks_blocked", "blocked_id"),
    )

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    blocked: Mapped[User] = relationship(foreign_keys=[blocked_id])


class MessageDigest(Model):
    """The e-mail of new messages one person is owed for one conversation.

    `pending_since` is when the first message not yet e-mailed arrived; the digest job sends
    one e-mail listing what arrived once the window (MESSAGE_EMAIL_WINDOW_MINUTES) has passed
    since then, so a person gets at most one e-mail per conversation per window.
    """

    __tablename__ = "message_digests"
    __table_args__ = (
        UniqueConstraint("conversation_id", "recipient_id", name="uq_message_digests_pair"),
        Index("ix_message_digests_pending", "pending_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pending_since: Mapped[datetime | None]
    first_message_id: Mapped[int | None]
    last_sent_at: Mapped[datetime | None]
    sent_count: Mapped[int] = mapped_column(default=0)
