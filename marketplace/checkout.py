"""Checkout: one payment for a whole cart, one order per shop once it is paid.

The steps, and why they are split:
1. `start()` locks the cart, snapshots its lines, reserves their stock and records the
   checkout — all in the request's transaction. The caller then commits (`checkpoint`).
2. `open_payment()` asks the payment provider (Stripe) for its hosted page, with the checkout
   as idempotency key, and records the page. No database transaction is held across the call.
3. Stripe's webhook, not the buyer's redirect, says it is paid: `record_payment()` turns the
   checkout into orders, once, whatever the order the webhooks arrive in.
4. An unpaid checkout ends by `expire()` (Stripe's expiry webhook, the sweeper, or the buyer
   cancelling), which gives the reserved stock back — once, whoever comes first.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from babel import Locale
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app import uow
from app.accounts.models import User
from app.database import for_update
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, NotFound, RuleViolation
from marketplace import cart as carts
from marketplace import signals, stock
from marketplace.deals import coupons
from marketplace.order_models import (
    Cart,
    CartLine,
    Checkout,
    CheckoutLine,
    CheckoutStatus,
    Order,
    OrderEvent,
    OrderLine,
    SavedAddress,
)
from marketplace.payments import (
    AlreadyPaid,
    PaymentError,
    PreviewLine,
    provider,
    split_preview,
)

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "region", "country", "phone")
ADDRESS_LIMITS = {
    "name": 120,
    "line1": 200,
    "line2": 200,
    "city": 120,
    "postal_code": 20,
    "region": 120,
    "country": 2,
    "phone": 40,
}
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")


def payment_window() -> timedelta:
    # Stripe refuses a Checkout Session that expires in less than 30 minutes (a minute of
    # margin for the time the request takes).
    return timedelta(minutes=max(int(current_app.config.get("CHECKOUT_MINUTES", 45)), 31))


# --- the address ---------------------------------------------------------------------------


# Two-letter codes in CLDR's territories that are nowhere a parcel can be sent.
NOT_SHIPPED_TO = frozenset(
    {
        # Groupings and placeholders, not places.
        "EU", "EZ", "UN", "ZZ", "QO",
        # Babel's pseudo-locales for testing translations ("Pseudo-Accents", "Pseudo-Bidi").
        "XA", "XB",
        # Uninhabited, or without civilian post: Antarctica, Bouvet Island, Heard and McDonald
        # Islands, the French Southern Lands, South Georgia, the US Outlying Islands, Clipperton.
        "AQ", "BV", "HM", "TF", "GS", "UM", "CP",
        # Codes for parts of other countries, whose addresses name those countries: Ascension
        # and Tristan da Cunha (St Helena, SH), Diego Garcia (IO), Ceuta, Melilla and the
        # Canary Islands (Spain, ES), Sark (Guernsey, GG).
        "AC", "TA", "DG", "EA", "IC", "CQ",
    }
)  # fmt: skip


def country_names(locale: str = "en") -> dict[str, str]:
    """The countries people ship to: two-letter codes and their names in `locale` (from
    Babel's CLDR data, without its groupings, pseudo-locales and uninhabited territories)."""
    territories = Locale.parse(locale).territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in NOT_SHIPPED_TO
    }


def clean_address(data: dict[str, Any]) -> dict[str, str]:
    address = {name: str(data.get(name) or "").strip() for name in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    errors: dict[str, list[str]] = {}
    for name in REQUIRED_ADDRESS_FIELDS:
        if not address[name]:
            errors[name] = [_("This field is required.")]
    for name, limit in ADDRESS_LIMITS.items():
        if len(address[name]) > limit:
            errors.setdefault(name, []).append(_("Use at most %(max)d characters.", max=limit))
    if address["country"] and address["country"] not in country_names():
        errors["country"] = [_("Choose a country.")]
    if errors:
        raise RuleViolation(_("Please check the shipping address."), errors=errors)
    return address


def saved_address(user: User) -> dict[str, str] | None:
    saved = db.session.scalar(select(SavedAddress).where(SavedAddress.user_id == user.id))
    return saved.as_dict() if saved else None


def _save_address(user: User, address: dict[str, str]) -> None:
    saved = db.session.scalar(select(SavedAddress).where(SavedAddress.user_id == user.id))
    if saved is None:
        saved = SavedAddress(user_id=user.id, **address)
        db.session.add(saved)
    else:
        for name, value in address.items():
            setattr(saved, name, value)
        saved.updated_at = utcnow()


# --- before paying: the summary ------------------------------------------------------------


def preview_lines(cart_view: carts.CartView) -> list[PreviewLine]:
    return [
        PreviewLine(
            key=f"cart-line-{lv.line.id}",
            shop_id=group.shop.id,
            product_id=lv.product.id,
            cart_line_id=lv.line.id,
            gross_minor=lv.gross_minor,
        )
        for group in cart_view.groups
        for lv in group.lines
    ]


def summary(cart_view: carts.CartView, buyer: User | None) -> dict[str, Any]:
    """How the payment will be shared, per cart line, shown before paying."""
    return split_preview(preview_lines(cart_view), buyer.id if buyer else None)


# --- 1. start ------------------------------------------------------------------------------


def _fingerprint(cart_view: carts.CartView, address: dict[str, str]) -> str:
    content = {
        "lines": sorted(
            (lv.variant.id, lv.line.quantity, lv.unit_price_minor, lv.discount_minor)
            for g in cart_view.groups
            for lv in g.lines
        ),
        "coupons": sorted(
            (g.shop.id, g.coupon.code) for g in cart_view.groups if g.coupon and g.coupon.applies
        ),
        "address": address,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def open_checkout(cart: Cart) -> Checkout | None:
    return db.session.scalar(
        select(Checkout)
        .where(Checkout.cart_id == cart.id, Checkout.status == CheckoutStatus.OPEN)
        .order_by(Checkout.id.desc())
    )


@dataclass
class Started:
    checkout: Checkout
    # True when a checkout already open for the same cart was reused (a second click).
    reused: bool = False
    # An open checkout for an older version of the cart, to be closed before this one.
    superseded: Checkout | None = None


def start(buyer: User, address_data: dict[str, Any]) -> Started:
    """Open a checkout for the buyer's cart and reserve its stock and coupons (all or nothing).

    The coupons the cart carries are locked before the cart is priced, so their uses are
    counted under the lock: of two buyers claiming a coupon's last use, one gets it and the
    other a clear reason; a coupon paused or expired since the cart was shown is said so."""
    address = clean_address(address_data)
    cart = db.session.scalar(for_update(select(Cart).where(Cart.user_id == buyer.id)))
    if cart is not None:
        coupons.lock_cart_coupons(cart.id)
    cart_view = carts.view(cart)
    if cart is None or cart_view.is_empty:
        raise RuleViolation(_("Your cart is empty."), status=409)
    if not cart_view.can_check_out:
        raise RuleViolation(cart_view.problems[0], status=409)
    fingerprint = _fingerprint(cart_view, address)
    previous = open_checkout(cart)
    if previous is not None and previous.fingerprint == fingerprint:
        return Started(previous, reused=True)
    if previous is not None:
        # This checkout replaces it (the caller closes it next): its coupons are given back
        # now, under their locks, so that the two never hold a coupon's uses together.
        coupons.release(previous)
    public_id = "chk_" + secrets.token_urlsafe(18)
    shipping_by_shop = {str(g.shop.id): g.shipping_minor for g in cart_view.groups}
    checkout = Checkout(
        public_id=public_id,
        cart_id=cart.id,
        buyer_id=buyer.id,
        fingerprint=fingerprint,
        currency=cart_view.currency,
        subtotal_minor=cart_view.subtotal_minor - cart_view.discount_minor,
        discount_minor=cart_view.discount_minor,
        shipping_minor=cart_view.shipping_minor,
        total_minor=cart_view.total_minor,
        shipping_by_shop=shipping_by_shop,
        shipping_address=address,
        expires_at=utcnow() + payment_window(),
    )
    db.session.add(checkout)
    for group in cart_view.groups:
        for lv in group.lines:
            # Reserve now: of two buyers racing for the last one, one gets a clear "sold out".
            stock.take_stock(lv.variant.id, lv.line.quantity)
            checkout.lines.append(
                CheckoutLine(
                    cart_line_id=lv.line.id,
                    product_id=lv.product.id,
                    variant_id=lv.variant.id,
                    shop_id=group.shop.id,
                    title=lv.product.title,
                    variant_label=lv.variant.label,
                    sku=lv.variant.sku,
                    unit_price_minor=lv.unit_price_minor,
                    quantity=lv.line.quantity,
                    discount_minor=lv.discount_minor,
                    adjustments=[a.as_dict() for a in lv.adjustments],
                )
            )
    _save_address(buyer, address)
    db.session.flush()
    for group in cart_view.groups:
        if group.coupon is not None and group.coupon.applies and group.coupon.coupon:
            coupons.reserve(checkout, group.coupon.coupon, group.discount.coupon_minor)
    signals.checkout_started.send(current_app._get_current_object(), checkout=checkout)  # type: ignore[attr-defined]
    return Started(checkout, superseded=previous)


# --- 2. the payment page --------------------------------------------------------------------


def open_payment(checkout: Checkout, *, success_url: str, cancel_url: str) -> str:
    """The URL of the provider's payment page for this checkout (created once)."""
    if checkout.status != CheckoutStatus.OPEN:
        raise Conflict(_("This checkout is closed. Please start again from your cart."))
    if not checkout.stripe_session_url:
        page = provider().open_payment_page(
            checkout, success_url=success_url, cancel_url=cancel_url
        )
        checkout.stripe_session_id = page.session_id
        checkout.stripe_session_url = page.url
    return payment_url(checkout) or ""


def payment_url(checkout: Checkout) -> str | None:
    """Where the buyer pays this checkout, as their browser should open it now (the page
    was made earlier, perhaps when the site had another address)."""
    if not checkout.stripe_session_url:
        return None
    return provider().page_url(checkout.stripe_session_url)


def close_payment(checkout: Checkout) -> bool:
    """Make the payment page unpayable; False when the buyer has already paid."""
    if not checkout.stripe_session_id:
        return True
    try:
        provider().close_payment_page(checkout)
    except AlreadyPaid:
        return False
    return True


# --- 3. paid -------------------------------------------------------------------------------


def find(
    public_id: str | None = None, session_id: str | None = None, *, lock: bool = False
) -> Checkout | None:
    query = select(Checkout)
    if public_id:
        query = query.where(Checkout.public_id == public_id)
    elif session_id:
        query = query.where(Checkout.stripe_session_id == session_id)
    else:
        return None
    return db.session.scalar(for_update(query) if lock else query)


def new_order_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "K-" + "".join(secrets.choice(alphabet) for _ in range(8))


def record_payment(
    *,
    public_id: str | None,
    session_id: str | None,
    payment_intent_id: str | None,
    charge_id: str | None,
    amount_total: int | None,
) -> list[Order]:
    """The provider says the checkout is paid: create its orders, once.

    Safe to call twice and in any order with `expire()`: a paid checkout stays paid.
    """
    checkout = find(public_id, session_id, lock=True) or find(None, session_id, lock=True)
    if checkout is None:
        current_app.logger.warning("payment for an unknown checkout %s / %s", public_id, session_id)
        return []
    if checkout.status == CheckoutStatus.PAID:
        return list(checkout.orders)
    if amount_total is not None and amount_total != checkout.total_minor:
        raise Conflict(
            f"checkout {checkout.public_id} paid {amount_total}, expected {checkout.total_minor}"
        )
    if checkout.stock_released:
        # Paid after we gave the stock back (our close and Stripe's payment crossed): take it
        # again; if it is gone, the payment is refunded in full by the job this raises into.
        for line in checkout.lines:
            if line.variant_id is None:
                raise Conflict(f"checkout {checkout.public_id}: a variant was deleted")
            stock.take_stock(line.variant_id, line.quantity)
        checkout.stock_released = False
    checkout.status = CheckoutStatus.PAID
    checkout.paid_at = utcnow()
    checkout.stripe_session_id = checkout.stripe_session_id or session_id
    checkout.stripe_payment_intent_id = payment_intent_id
    checkout.stripe_charge_id = charge_id
    coupons.mark_used(checkout)
    orders = _create_orders(checkout)
    _remove_bought_lines(checkout)
    db.session.flush()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    signals.checkout_paid.send(app, checkout=checkout, orders=orders)
    from marketplace import notifications

    notifications.order_placed(checkout, orders)
    return orders


def _create_orders(checkout: Checkout) -> list[Order]:
    by_shop: dict[int, list[CheckoutLine]] = defaultdict(list)
    for line in checkout.lines:
        by_shop[line.shop_id].append(line)
    orders = []
    for shop_id, lines in by_shop.items():
        subtotal = sum(line.gross_minor for line in lines)
        discount = sum(line.discount_minor for line in lines)
        shipping = int(checkout.shipping_by_shop.get(str(shop_id), 0))
        order = Order(
            reference=new_order_reference(),
            checkout_id=checkout.id,
            shop_id=shop_id,
            buyer_id=checkout.buyer_id,
            currency=checkout.currency,
            subtotal_minor=subtotal,
            discount_minor=discount,
            shipping_minor=shipping,
            total_minor=subtotal + shipping,
            shipping_address=dict(checkout.shipping_address),
            stripe_payment_intent_id=checkout.stripe_payment_intent_id,
            stripe_charge_id=checkout.stripe_charge_id,
            return_window_days=lines[0].shop.return_window_days,
        )
        for line in lines:
            order.lines.append(
                OrderLine(
                    checkout_line_id=line.id,
                    product_id=line.product_id,
                    variant_id=line.variant_id,
                    title=line.title,
                    variant_label=line.variant_label,
                    sku=line.sku,
                    unit_price_minor=line.unit_price_minor,
                    quantity=line.quantity,
                    discount_minor=line.discount_minor,
                    adjustments=list(line.adjustments or []),
                )
            )
        order.events.append(OrderEvent(kind="placed", actor_id=checkout.buyer_id))
        db.session.add(order)
        orders.append(order)
    db.session.flush()
    return orders


def _remove_bought_lines(checkout: Checkout) -> None:
    """Take what was bought out of the cart; what was added since stays."""
    ids = [line.cart_line_id for line in checkout.lines if line.cart_line_id]
    if not ids:
        return
    bought = {line.cart_line_id: line.quantity for line in checkout.lines}
    for cart_line in db.session.scalars(select(CartLine).where(CartLine.id.in_(ids))):
        remaining = cart_line.quantity - bought.get(cart_line.id, 0)
        if remaining > 0:
            cart_line.quantity = remaining
        else:
            db.session.delete(cart_line)


# --- 4. not paid -------------------------------------------------------------------------


def release_stock(checkout: Checkout) -> None:
    if checkout.stock_released:
        return
    for line in checkout.lines:
        if line.variant_id is not None:
            stock.return_stock(line.variant_id, line.quantity)
    checkout.stock_released = True


def expire(
    *,
    public_id: str | None = None,
    session_id: str | None = None,
    status: str = CheckoutStatus.EXPIRED,
) -> Checkout | None:
    """End an unpaid checkout and give its stock back. Harmless when already ended or paid."""
    checkout = find(public_id, session_id, lock=True)
    if checkout is None or checkout.status == CheckoutStatus.PAID:
        return checkout
    if checkout.status == CheckoutStatus.OPEN:
        checkout.status = status
        checkout.closed_at = utcnow()
    release_stock(checkout)
    if checkout.status != CheckoutStatus.PAID:
        coupons.release(checkout)
    return checkout


def abandon_after_failure(checkout: Checkout) -> None:
    """The payment page could not be created: nothing was charged, give the stock back."""
    expire(public_id=checkout.public_id, status=CheckoutStatus.CANCELLED)


def pay(buyer: User, address_data: dict[str, Any]) -> Checkout:
    """Everything between the buyer's "Pay" and Stripe's payment page, for pages and API.

    Starts the checkout (a rule violation raises before anything is kept), commits the
    reservation, closes a checkout the cart has outgrown, then opens the payment page. When
    the provider cannot be reached, the checkout is abandoned (stock back, committed) and the
    PaymentError raised: nothing was charged.
    """
    started = start(buyer, address_data)
    uow.checkpoint()  # the stock is reserved and the checkout recorded before Stripe is called
    checkout = started.checkout
    if started.superseded is not None and close_payment(started.superseded):
        expire(public_id=started.superseded.public_id, status=CheckoutStatus.CANCELLED)
        uow.checkpoint()
    try:
        open_payment(
            checkout,
            success_url=url_for(
                "shopping.checkout_done", public_id=checkout.public_id, _external=True
            ),
            cancel_url=url_for(
                "shopping.checkout_cancelled", public_id=checkout.public_id, _external=True
            ),
        )
    except PaymentError:
        abandon_after_failure(checkout)
        uow.checkpoint()
        raise
    return checkout


def for_buyer(buyer: User, public_id: str) -> Checkout:
    checkout = find(public_id)
    if checkout is None or checkout.buyer_id != buyer.id:
        raise NotFound(_("There is no such checkout."))
    return checkout


def due_for_sweep(limit: int = 200) -> list[str]:
    """Open checkouts whose payment window has passed (a little grace for the webhook)."""
    cutoff = utcnow() - timedelta(minutes=5)
    return list(
        db.session.scalars(
            select(Checkout.public_id)
            .where(Checkout.status == CheckoutStatus.OPEN, Checkout.expires_at < cutoff)
            .order_by(Checkout.expires_at)
            .limit(limit)
        )
    )


__all__ = [
    "AlreadyPaid",
    "PaymentError",
    "Started",
    "abandon_after_failure",
    "clean_address",
    "close_payment",
    "expire",
    "open_payment",
    "payment_url",
    "record_payment",
    "start",
]
