"""A shop's coupons and bundle discount: set by the seller, entered by the buyer, claimed
by a checkout.

A coupon's uses are exact when buyers race for its last one: the checkout locks the coupon's
row, counts the uses that hold (reserved by an open checkout, or used by a paid one) under
the lock, and reserves one. The reservation is released when the checkout expires or is
cancelled, as its stock is; a paid checkout turns it into a use. A checkout paid after its
reservation was released (our close and the buyer's payment crossed) keeps its discount: the
buyer paid that price, so the use is recorded even if that takes the coupon past its cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import User
from app.database import for_update
from app.extensions import db
from app.i18n import date as format_date
from app.i18n import money
from app.models import utcnow
from app.rules import NotFound, RuleViolation
from marketplace.deals.models import (
    CODE_MAX,
    MAX_PERCENT_BPS,
    CartCoupon,
    Coupon,
    CouponKind,
    CouponStatus,
    CouponUse,
    CouponUseStatus,
    ShopBundle,
)
from marketplace.models import Shop
from marketplace.order_models import Checkout, CheckoutStatus, Order

CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def normalise_code(raw: str | None) -> str:
    """Codes are matched trimmed and whatever their case."""
    return (raw or "").strip().upper()


# --- the seller: the bundle -------------------------------------------------------------------


def bundle_of(shop: Shop) -> ShopBundle | None:
    return db.session.scalar(select(ShopBundle).where(ShopBundle.shop_id == shop.id))


def set_bundle(shop: Shop, min_items: int | None, percent_bps: int | None) -> ShopBundle | None:
    """Set the shop's bundle discount; no rate (or zero) turns it off."""
    current = bundle_of(shop)
    if not percent_bps:
        if current is not None:
            db.session.delete(current)
            db.session.flush()
        return None
    errors: dict[str, list[str]] = {}
    if min_items is None or not 2 <= min_items <= 99:
        errors["min_items"] = [_("Choose a number of items between 2 and 99.")]
    if not 0 < percent_bps <= MAX_PERCENT_BPS:
        errors["percent_bps"] = [_("Choose a discount between 0.01 % and 90 %.")]
    if errors:
        raise RuleViolation(_("Please check the bundle discount."), errors=errors)
    assert min_items is not None
    if current is None:
        current = ShopBundle(shop_id=shop.id, min_items=min_items, percent_bps=percent_bps)
        db.session.add(current)
    else:
        current.min_items, current.percent_bps = min_items, percent_bps
        current.updated_at = utcnow()
    db.session.flush()
    return current


# --- the seller: coupons ----------------------------------------------------------------------


@dataclass
class CouponInput:
    code: str
    kind: str
    percent_bps: int | None = None
    amount_minor: int | None = None
    min_order_minor: int | None = None
    expires_at: datetime | None = None
    max_uses: int | None = None
    once_per_buyer: bool = False


def create_coupon(shop: Shop, data: CouponInput) -> Coupon:
    code = normalise_code(data.code)
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("Choose a code.")]
    elif len(code) > CODE_MAX or not set(code) <= CODE_CHARACTERS:
        errors["code"] = [
            _(
                "Use up to %(max)d letters, digits, hyphens or underscores.",
                max=CODE_MAX,
            )
        ]
    if data.kind not in CouponKind.ALL:
        errors["kind"] = [_("Choose a percentage or an amount.")]
    elif data.kind == CouponKind.PERCENT:
        if data.percent_bps is None or not 0 < data.percent_bps <= MAX_PERCENT_BPS:
            errors["percent_bps"] = [_("Choose a discount between 0.01 % and 90 %.")]
    elif data.amount_minor is None or data.amount_minor <= 0:
        errors["amount_minor"] = [_("Choose an amount above zero.")]
    if data.min_order_minor is not None and data.min_order_minor < 0:
        errors["min_order_minor"] = [_("A minimum order cannot be negative.")]
    if data.max_uses is not None and data.max_uses < 1:
        errors["max_uses"] = [_("Allow at least one use, or leave it empty.")]
    if data.expires_at is not None and data.expires_at <= utcnow():
        errors["expires_at"] = [_("Choose a date in the future.")]
    if not errors and db.session.scalar(
        select(Coupon.id).where(Coupon.shop_id == shop.id, Coupon.code == code)
    ):
        errors["code"] = [_("Your shop already has a coupon with this code.")]
    if errors:
        raise RuleViolation(_("Please check the coupon."), errors=errors)
    coupon = Coupon(
        shop_id=shop.id,
        code=code,
        kind=data.kind,
        percent_bps=data.percent_bps if data.kind == CouponKind.PERCENT else None,
        amount_minor=data.amount_minor if data.kind == CouponKind.AMOUNT else None,
        min_order_minor=data.min_order_minor or None,
        expires_at=data.expires_at,
        max_uses=data.max_uses,
        once_per_buyer=data.once_per_buyer,
    )
    db.session.add(coupon)
    db.session.flush()
    return coupon


def coupons_of(shop: Shop) -> list[Coupon]:
    return list(
        db.session.scalars(
            select(Coupon).where(Coupon.shop_id == shop.id).order_by(Coupon.id.desc())
        )
    )


def coupon_of(shop: Shop, coupon_id: int) -> Coupon:
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is None or coupon.shop_id != shop.id:
        raise NotFound(_("There is no such coupon."))
    return coupon


def set_status(shop: Shop, coupon_id: int, status: str) -> Coupon:
    if status not in CouponStatus.ALL:
        raise RuleViolation(_("Choose active or paused."), field="status")
    coupon = coupon_of(shop, coupon_id)
    coupon.status = status
    db.session.flush()
    return coupon


def use_counts(coupon_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per coupon, how many uses are reserved and used."""
    counts: dict[int, dict[str, int]] = {i: {"reserved": 0, "used": 0} for i in coupon_ids}
    if not coupon_ids:
        return counts
    rows = db.session.execute(
        select(CouponUse.coupon_id, CouponUse.status, func.count(CouponUse.id))
        .where(CouponUse.coupon_id.in_(coupon_ids), CouponUse.status.in_(CouponUseStatus.HOLDING))
        .group_by(CouponUse.coupon_id, CouponUse.status)
    )
    for coupon_id, status, count in rows:
        counts[coupon_id][status] = count
    return counts


def uses_with_orders(coupon: Coupon, limit: int = 200) -> list[tuple[CouponUse, Order | None]]:
    """The coupon's uses by paid checkouts, newest first, each with the shop's order."""
    rows = db.session.execute(
        select(CouponUse, Order)
        .outerjoin(
            Order,
            (Order.checkout_id == CouponUse.checkout_id) & (Order.shop_id == coupon.shop_id),
        )
        .where(CouponUse.coupon_id == coupon.id, CouponUse.status == CouponUseStatus.USED)
        .order_by(CouponUse.id.desc())
        .limit(limit)
    )
    return [(use, order) for use, order in rows]


# --- the buyer: a code in the cart ------------------------------------------------------------


@dataclass
class CouponCheck:
    """A code as the cart sees it: the coupon when it applies, or why not."""

    code: str
    coupon: Coupon | None = None
    problem: str | None = None
    # A problem that stops the checkout (the buyer expects a discount they would not get);
    # a minimum not reached yet only says how much more is needed.
    blocking: bool = False

    @property
    def applies(self) -> bool:
        return self.coupon is not None and self.problem is None


def _holding_uses(coupon_id: int, cart_id: int | None, buyer_id: int | None = None) -> int:
    """Uses that count against the cap (or against one buyer): reserved or used, except those
    held by this cart's own open checkouts, which this checkout supersedes."""
    query = select(func.count(CouponUse.id)).where(
        CouponUse.coupon_id == coupon_id, CouponUse.status.in_(CouponUseStatus.HOLDING)
    )
    if buyer_id is not None:
        query = query.where(CouponUse.buyer_id == buyer_id)
    if cart_id is not None:
        own = select(Checkout.id).where(
            Checkout.cart_id == cart_id, Checkout.status == CheckoutStatus.OPEN
        )
        query = query.where(
            ~((CouponUse.status == CouponUseStatus.RESERVED) & CouponUse.checkout_id.in_(own))
        )
    return int(db.session.scalar(query) or 0)


def check(
    coupon: Coupon | None,
    code: str,
    shop: Shop,
    items_minor: int,
    *,
    cart_id: int | None,
    buyer_id: int | None,
    now: datetime | None = None,
) -> CouponCheck:
    """Whether `coupon` (found by `code`) applies to `items_minor` of `shop` now."""
    found = CouponCheck(code)
    if coupon is None:
        found.problem = _("There is no coupon “%(code)s”.", code=code)
        return found
    found.coupon = coupon
    found.blocking = True
    now = now or utcnow()
    if coupon.shop_id != shop.id:
        found.problem = _("“%(code)s” is not a coupon of %(shop)s.", code=code, shop=shop.name)
    elif coupon.status != CouponStatus.ACTIVE:
        found.problem = _("“%(code)s” is paused by the shop.", code=code)
    elif coupon.expires_at is not None and coupon.expires_at <= now:
        found.problem = _(
            "“%(code)s” expired on %(date)s.", code=code, date=format_date(coupon.expires_at)
        )
    elif coupon.max_uses is not None and _holding_uses(coupon.id, cart_id) >= coupon.max_uses:
        found.problem = _("“%(code)s” has been used as many times as it can be.", code=code)
    elif (
        coupon.once_per_buyer
        and buyer_id is not None
        and _holding_uses(coupon.id, cart_id, buyer_id) > 0
    ):
        found.problem = _("You have already used “%(code)s”.", code=code)
    elif coupon.min_order_minor and items_minor < coupon.min_order_minor:
        found.blocking = False
        found.problem = _(
            "“%(code)s” needs %(minimum)s of items from %(shop)s: add %(more)s.",
            code=code,
            minimum=money(coupon.min_order_minor),
            shop=shop.name,
            more=money(coupon.min_order_minor - items_minor),
        )
    return found


def find_coupon(code: str, shop_id: int, *, lock: bool = False) -> Coupon | None:
    """The coupon with this code: the shop's own, or else another shop's (to say so)."""
    query = (
        select(Coupon)
        .where(Coupon.code == code)
        .order_by((Coupon.shop_id != shop_id), Coupon.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(for_update(query) if lock else query)


def cart_codes(cart_id: int) -> dict[int, str]:
    return {
        row.shop_id: row.code
        for row in db.session.scalars(select(CartCoupon).where(CartCoupon.cart_id == cart_id))
    }


def apply_code(
    cart: Any, shop: Shop, raw_code: str, buyer: User | None, items_minor: int
) -> CartCoupon:
    """Put a coupon's code on the cart for this shop (replacing the shop's earlier code).

    A code that is unknown, another shop's, paused, expired, used up or already used by the
    buyer is refused with the reason; one whose minimum is not reached is kept (the cart
    says how much more it needs)."""
    code = normalise_code(raw_code)
    if not code or len(code) > CODE_MAX:
        raise RuleViolation(_("Enter a coupon code."), field="code")
    coupon = find_coupon(code, shop.id)
    found = check(
        coupon,
        code,
        shop,
        items_minor,
        cart_id=cart.id,
        buyer_id=buyer.id if buyer else None,
    )
    if found.problem and (found.coupon is None or found.blocking):
        raise RuleViolation(found.problem, field="code")
    row = db.session.scalar(
        select(CartCoupon).where(CartCoupon.cart_id == cart.id, CartCoupon.shop_id == shop.id)
    )
    if row is None:
        row = CartCoupon(cart_id=cart.id, shop_id=shop.id, code=code)
        db.session.add(row)
    else:
        row.code = code
    db.session.flush()
    return row


def move_codes(from_cart_id: int, to_cart_id: int) -> None:
    """A guest's codes into the cart they log in to (where it has none for that shop)."""
    kept = cart_codes(to_cart_id)
    for row in db.session.scalars(select(CartCoupon).where(CartCoupon.cart_id == from_cart_id)):
        if row.shop_id not in kept:
            db.session.add(CartCoupon(cart_id=to_cart_id, shop_id=row.shop_id, code=row.code))
    db.session.flush()


def remove_code(cart: Any, shop_id: int) -> bool:
    row = db.session.scalar(
        select(CartCoupon).where(CartCoupon.cart_id == cart.id, CartCoupon.shop_id == shop_id)
    )
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


# --- the checkout: reserve, release, use ------------------------------------------------------


def lock_cart_coupons(cart_id: int) -> None:
    """Lock the rows of the coupons this cart carries (in id order, so two checkouts never
    wait for each other in a circle): what is counted next stays true until the commit."""
    codes = cart_codes(cart_id)
    if not codes:
        return
    query = select(Coupon.id).where(Coupon.code.in_(set(codes.values()))).order_by(Coupon.id)
    db.session.execute(for_update(query)).all()


def reserve(checkout: Checkout, coupon: Coupon, discount_minor: int) -> CouponUse:
    use = CouponUse(
        coupon_id=coupon.id,
        checkout_id=checkout.id,
        buyer_id=checkout.buyer_id,
        discount_minor=discount_minor,
    )
    db.session.add(use)
    return use


def _uses_of_checkout(checkout: Checkout) -> list[CouponUse]:
    return list(
        db.session.scalars(
            select(CouponUse)
            .where(CouponUse.checkout_id == checkout.id)
            .execution_options(populate_existing=True)
        )
    )


def release(checkout: Checkout) -> None:
    """The checkout ended unpaid, or a newer checkout of the same cart replaces it: its
    reservations no longer count."""
    for use in _uses_of_checkout(checkout):
        if use.status == CouponUseStatus.RESERVED:
            use.status = CouponUseStatus.RELEASED
            use.updated_at = use.released_at = utcnow()


def mark_used(checkout: Checkout) -> None:
    """The checkout is paid: its coupons are used (also one released a moment before)."""
    for use in _uses_of_checkout(checkout):
        if use.status != CouponUseStatus.USED:
            use.status = CouponUseStatus.USED
            use.updated_at = utcnow()


def describe_rule(coupon: Coupon) -> str:
    if coupon.kind == CouponKind.PERCENT:
        from app.i18n import format_percent

        return _("%(percent)s %% off", percent=format_percent(coupon.percent_bps))
    return _("%(amount)s off", amount=money(coupon.amount_minor))
