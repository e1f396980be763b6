"""A shop's bundle discount, its coupons, their uses, and the codes a cart carries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import utcnow
from marketplace.models import Shop

CODE_MAX = 32
# A shop's discounts (bundle and coupon together) never take its items below this: a payment
# of nothing is not a payment Stripe takes, and a line is never negative.
MIN_ITEMS_PAID_MINOR = 50
MAX_PERCENT_BPS = 9_000


class ShopBundle(Model):
    """ "N % off when you buy K or more items from this shop in one checkout"; no row: none."""

    __tablename__ = "shop_bundles"
    __table_args__ = (
        CheckConstraint("min_items >= 2 AND min_items <= 99", name="min_items_in_range"),
        CheckConstraint("percent_bps > 0 AND percent_bps <= 9000", name="percent_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    min_items: Mapped[int]
    percent_bps: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class CouponKind:
    PERCENT = "percent"
    AMOUNT = "amount"

    ALL = (PERCENT, AMOUNT)


class CouponStatus:
    ACTIVE = "active"
    PAUSED = "paused"

    ALL = (ACTIVE, PAUSED)


class Coupon(Model):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("shop_id", "code", name="uq_coupons_shop_code"),
        Index("ix_coupons_code", "code"),
        CheckConstraint(
            "(kind = 'percent' AND percent_bps > 0 AND percent_bps <= 9000"
            " AND amount_minor IS NULL) OR (kind = 'amount'"
            " AND amount_minor > 0 AND percent_bps IS NULL)",
            name="one_kind_of_value",
        ),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint(
            "min_order_minor IS NULL OR min_order_minor >= 0", name="min_order_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    # Upper case and trimmed: codes are matched whatever case the buyer types.
    code: Mapped[str] = mapped_column(String(CODE_MAX))
    kind: Mapped[str] = mapped_column(String(10))
    percent_bps: Mapped[int | None]
    amount_minor: Mapped[int | None]
    # On the shop's items before any discount.
    min_order_minor: Mapped[int | None]
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int | None]
    once_per_buyer: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=CouponStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    shop: Mapped[Shop] = relationship()


class CouponUseStatus:
    RESERVED = "reserved"  # a checkout is open with it: it counts against the cap
    USED = "used"  # the checkout was paid
    RELEASED = "released"  # the checkout expired or was cancelled

    HOLDING = (RESERVED, USED)


class CouponUse(Model):
    __tablename__ = "coupon_uses"
    __table_args__ = (
        UniqueConstraint("coupon_id", "checkout_id", name="uq_coupon_uses_coupon_checkout"),
        Index("ix_coupon_uses_coupon_status", "coupon_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    checkout_id: Mapped[int] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=CouponUseStatus.RESERVED)
    discount_minor: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    # When the reservation was given back (the checkout ended, or a newer one of the same
    # cart replaced it). A use paid after that (the payment crossed our close) keeps its
    # price: it is the one use that may take a coupon past its cap.
    released_at: Mapped[datetime | None]

    coupon: Mapped[Coupon] = relationship()


class CartCoupon(Model):
    """A code the shopper entered for one shop of their cart (one per shop)."""

    __tablename__ = "cart_coupons"
    __table_args__ = (UniqueConstraint("cart_id", "shop_id", name="uq_cart_coupons_cart_shop"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(CODE_MAX))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
