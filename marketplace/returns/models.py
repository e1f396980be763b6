"""A return: which lines (and how many of each) a buyer sends back, why, and its steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model
from app.models import utcnow
from marketplace.order_models import Order, OrderLine, Refund

REASON_TEXT_MAX = 1000
ANSWER_MAX = 1000
PHOTOS_MAX = 4


class ReturnStatus:
    REQUESTED = "requested"  # waiting for the seller
    ACCEPTED = "accepted"  # the buyer sends it back; the seller marks it received
    REFUSED = "refused"  # the buyer may take it to the moderators
    ESCALATED = "escalated"  # with the moderators
    REFUNDED = "refunded"  # the refund went through the orders' refund path
    CLOSED = "closed"  # the moderators upheld the refusal, or the buyer let it go
    WITHDRAWN = "withdrawn"  # the buyer changed their mind

    ALL = (REQUESTED, ACCEPTED, REFUSED, ESCALATED, REFUNDED, CLOSED, WITHDRAWN)
    # A line in one of these returns cannot be in another return at the same time.
    OPEN = (REQUESTED, ACCEPTED, REFUSED, ESCALATED)
    # Their items are settled: they cannot be asked for again.
    SETTLED = (REFUNDED, CLOSED)
    # The seller has something to do.
    FOR_SELLER = (REQUESTED, ACCEPTED)


class ReturnReason:
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    DOES_NOT_FIT = "does_not_fit"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"

    ALL = (NOT_AS_DESCRIBED, DAMAGED, WRONG_ITEM, DOES_NOT_FIT, CHANGED_MIND, OTHER)


class ReturnRequest(Model):
    __tablename__ = "return_requests"
    __table_args__ = (
        Index("ix_return_requests_order", "order_id"),
        Index("ix_return_requests_shop_status", "shop_id", "status"),
        Index("ix_return_requests_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=ReturnStatus.REQUESTED)
    reason: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    # The seller's (or a moderator's) instructions on accepting, or the refusal's reason.
    instructions: Mapped[str] = mapped_column(Text, default="")
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    escalation_note: Mapped[str] = mapped_column(Text, default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # When the platform decides if the seller has not acted: answer a request, or mark an
    # accepted return received. None while nothing waits on the seller.
    due_at: Mapped[datetime | None]
    restock: Mapped[bool] = mapped_column(default=True)
    refund_id: Mapped[int | None] = mapped_column(
        ForeignKey("refunds.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    order: Mapped[Order] = relationship()
    buyer: Mapped[User] = relationship()
    refund: Mapped[Refund | None] = relationship()
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="return_request", cascade="all, delete-orphan", order_by="ReturnLine.id"
    )
    photos: Mapped[list[ReturnPhoto]] = relationship(
        back_populates="return_request", cascade="all, delete-orphan", order_by="ReturnPhoto.id"
    )
    events: Mapped[list[ReturnEvent]] = relationship(
        back_populates="return_request", cascade="all, delete-orphan", order_by="ReturnEvent.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status in ReturnStatus.OPEN

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


class ReturnLine(Model):
    __tablename__ = "return_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int]

    return_request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class ReturnPhoto(Model):
    __tablename__ = "return_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    thumbnail_key: Mapped[str] = mapped_column(String(255))
    width: Mapped[int]
    height: Mapped[int]

    return_request: Mapped[ReturnRequest] = relationship(back_populates="photos")


class ReturnEvent(Model):
    """One step of a return, shown to both sides: who did what, and what they wrote."""

    __tablename__ = "return_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    # Who acted: the buyer, the seller, a moderator, or None for the platform's sweep.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    return_request: Mapped[ReturnRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
