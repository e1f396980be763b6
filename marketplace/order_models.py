"""Cart, checkout and order tables.

A cart holds variants a shopper wants. A checkout is one payment for a whole cart, across
shops: it snapshots the lines, reserves their stock and pays through one Stripe Checkout
Session whose transfer group is the checkout's public id. When Stripe says it is paid, it
becomes one order per shop. Orders keep their own snapshot of titles and prices, so later
edits of a product never rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model
from app.models import utcnow
from marketplace.models import Product, ProductVariant, Shop


class Cart(Model):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A logged-in shopper's cart, or a guest's (found by the token kept in their session).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    guest_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(Model):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_lines_cart_variant"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    # The price the shopper saw when adding: the cart warns when the price has changed since.
    unit_price_seen_minor: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    variant: Mapped[ProductVariant] = relationship()


class SavedAddress(Model):
    """The shipping address a buyer used last, offered again at the next checkout."""

    __tablename__ = "saved_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(120))
    postal_code: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "postal_code": self.postal_code,
            "region": self.region,
            "country": self.country,
            "phone": self.phone,
        }


class CheckoutStatus:
    OPEN = "open"  # stock reserved, waiting for the buyer to pay on Stripe's page
    PAID = "paid"  # orders created
    EXPIRED = "expired"  # the payment page expired; stock released
    CANCELLED = "cancelled"  # the buyer went back, or the session could not be created

    ALL = (OPEN, PAID, EXPIRED, CANCELLED)
    CLOSED = (EXPIRED, CANCELLED)


class Checkout(Model):
    __tablename__ = "checkouts"
    __table_args__ = (Index("ix_checkouts_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown to Stripe as the transfer group and in URLs; unguessable.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    cart_id: Mapped[int | None] = mapped_column(
        ForeignKey("carts.id", ondelete="SET NULL"), index=True
    )
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CheckoutStatus.OPEN)
    # What the cart looked like (lines, quantities, prices): a second click on "Pay" with the
    # same cart reuses this checkout instead of opening another.
    fingerprint: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    # What the items cost after the shops' discounts; `discount_minor` is what they took off.
    subtotal_minor: Mapped[int]
    discount_minor: Mapped[int] = mapped_column(default=0)
    shipping_minor: Mapped[int]
    total_minor: Mapped[int]
    shipping_by_shop: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_session_url: Mapped[str | None] = mapped_column(Text)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    # Webhooks, refunds and the payout run look checkouts up by their charge.
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # Reserved stock goes back once, whoever notices first (the sweeper or the webhook).
    stock_released: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    buyer: Mapped[User] = relationship()
    lines: Mapped[list[CheckoutLine]] = relationship(
        back_populates="checkout", cascade="all, delete-orphan", order_by="CheckoutLine.id"
    )
    orders: Mapped[list[Order]] = relationship(back_populates="checkout", order_by="Order.id")


class CheckoutLine(Model):
    __tablename__ = "checkout_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    # The cart line it came from (cart lines go away once paid, so no foreign key).
    cart_line_id: Mapped[int | None]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL")
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    title: Mapped[str] = mapped_column(String(140))
    variant_label: Mapped[str] = mapped_column(String(100), default="")
    sku: Mapped[str] = mapped_column(String(64), default="")
    unit_price_minor: Mapped[int]
    quantity: Mapped[int]
    # What the shop's deals took off the line (a bundle, a coupon), and how: a list of
    # {"kind", "amount_minor", "code"?}. The line's gross is what is left.
    discount_minor: Mapped[int] = mapped_column(default=0)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    checkout: Mapped[Checkout] = relationship(back_populates="lines")
    shop: Mapped[Shop] = relationship()

    @property
    def list_minor(self) -> int:
        """The line's price before any discount."""
        return self.unit_price_minor * self.quantity

    @property
    def gross_minor(self) -> int:
        """What the buyer pays for the line: the split, the ledger and refunds use this."""
        return self.unit_price_minor * self.quantity - self.discount_minor


class OrderStatus:
    PAID = "paid"  # to be shipped
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"  # delivered and the return window has passed, or auto-completed
    CANCELLED = "cancelled"  # before shipping; refunded

    ALL = (PAID, SHIPPED, DELIVERED, COMPLETED, CANCELLED)


class Order(Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("checkout_id", "shop_id", name="uq_orders_checkout_shop"),
        Index("ix_orders_shop_created", "shop_id", "created_at"),
        Index("ix_orders_buyer_created", "buyer_id", "created_at"),
        Index("ix_orders_status_auto_complete", "status", "auto_complete_at"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= total_minor", name="refund_within_total"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PAID)
    currency: Mapped[str] = mapped_column(String(3))
    # What the items were paid, after the shop's discounts (`discount_minor`).
    subtotal_minor: Mapped[int]
    discount_minor: Mapped[int] = mapped_column(default=0)
    shipping_minor: Mapped[int]
    total_minor: Mapped[int]
    # The sum of the refunds Stripe confirmed.
    refunded_minor: Mapped[int] = mapped_column(default=0)
    shipping_refunded_minor: Mapped[int] = mapped_column(default=0)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    carrier: Mapped[str] = mapped_column(String(60), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # When a shipped order completes by itself if nobody confirms delivery.
    auto_complete_at: Mapped[datetime | None]
    # The shop's return window when the order was placed (0: no returns), so a later change
    # of policy does not change what the buyer was promised. None: older orders (the shop's).
    return_window_days: Mapped[int | None]

    checkout: Mapped[Checkout] = relationship(back_populates="orders")
    shop: Mapped[Shop] = relationship()
    buyer: Mapped[User] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )
    refunds: Mapped[list[Refund]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Refund.id"
    )

    @property
    def refundable_minor(self) -> int:
        return self.total_minor - self.refunded_minor

    @property
    def list_subtotal_minor(self) -> int:
        """The items' price before the shop's discounts."""
        return self.subtotal_minor + self.discount_minor

    @property
    def discount_parts(self) -> dict[str, int]:
        """The order's discount by kind ("bundle", "coupon"), summed over its lines."""
        parts: dict[str, int] = {}
        for line in self.lines:
            for adjustment in line.adjustments or []:
                kind = str(adjustment.get("kind", ""))
                parts[kind] = parts.get(kind, 0) + int(adjustment.get("amount_minor", 0))
        return parts

    @property
    def coupon_code(self) -> str:
        for line in self.lines:
            for adjustment in line.adjustments or []:
                if adjustment.get("code"):
                    return str(adjustment["code"])
        return ""

    @property
    def is_fully_refunded(self) -> bool:
        return self.refunded_minor >= self.total_minor


class OrderLine(Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= unit_price_minor * quantity",
            name="refund_within_gross",
        ),
        CheckConstraint(
            "restocked_quantity >= 0 AND restocked_quantity <= quantity",
            name="restock_within_quantity",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    checkout_line_id: Mapped[int] = mapped_column(ForeignKey("checkout_lines.id"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(140))
    variant_label: Mapped[str] = mapped_column(String(100), default="")
    sku: Mapped[str] = mapped_column(String(64), default="")
    unit_price_minor: Mapped[int]
    quantity: Mapped[int]
    refunded_minor: Mapped[int] = mapped_column(default=0)
    restocked_quantity: Mapped[int] = mapped_column(default=0)
    # As on the checkout line: the discount and its parts; the gross is what was paid.
    discount_minor: Mapped[int] = mapped_column(default=0)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def list_minor(self) -> int:
        """The line's price before any discount."""
        return self.unit_price_minor * self.quantity

    @property
    def gross_minor(self) -> int:
        """What the buyer paid for the line."""
        return self.unit_price_minor * self.quantity - self.discount_minor

    @property
    def refundable_minor(self) -> int:
        return self.gross_minor - self.refunded_minor


class OrderEvent(Model):
    """One step of an order's timeline, seen by the buyer and the seller."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class RefundStatus:
    PENDING = "pending"  # recorded; Stripe not yet confirmed
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The idempotency key of the Stripe call: a retry after a crash refunds once.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int]
    shipping_minor: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")
    restock: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.PENDING)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_message: Mapped[str | None] = mapped_column(Text)
    # Who asked: the seller, or None when it came from Stripe (dashboard, lost dispute).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    completed_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="refunds")
    lines: Mapped[list[RefundLine]] = relationship(
        back_populates="refund", cascade="all, delete-orphan", order_by="RefundLine.id"
    )


class RefundLine(Model):
    __tablename__ = "refund_lines"
    __table_args__ = (CheckConstraint("amount_minor >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    amount_minor: Mapped[int]
    restock_quantity: Mapped[int] = mapped_column(default=0)

    refund: Mapped[Refund] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class Review(Model):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_in_range"),
        Index("ix_reviews_shop_created", "shop_id", "created_at"),
        Index("ix_reviews_product_created", "product_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One review per bought line.
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int]
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    buyer: Mapped[User] = relationship()
    product: Mapped[Product] = relationship()
