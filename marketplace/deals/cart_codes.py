"""The buyer's coupon codes in their cart: one per shop group."""

from __future__ import annotations

from flask_babel import gettext as _

from app.accounts.models import User
from app.extensions import db
from app.rules import NotFound
from marketplace import cart as carts
from marketplace.deals import coupons
from marketplace.deals.models import CartCoupon


def apply(user: User | None, shop_id: int, raw_code: str) -> CartCoupon:
    """Enter a code for one shop of the shopper's cart; the reason when it cannot apply."""
    cart = carts.cart_for(user, lock=True)
    group = (
        next((g for g in carts.view(cart).groups if g.shop.id == shop_id), None)
        if cart is not None
        else None
    )
    if cart is None or group is None:
        raise NotFound(_("There is nothing from this shop in your cart."))
    row = coupons.apply_code(cart, group.shop, raw_code, user, group.subtotal_minor)
    cart.updated_at = row.created_at
    db.session.flush()
    return row


def remove(user: User | None, shop_id: int) -> bool:
    cart = carts.cart_for(user, lock=True)
    if cart is None:
        return False
    return coupons.remove_code(cart, shop_id)
