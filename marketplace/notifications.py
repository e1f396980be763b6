"""The order emails: to the buyer and the seller at each step. They leave after the commit."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from app import mail
from app.accounts.models import User
from marketplace.order_models import Checkout, Order, Refund


def _send(user: User, subject_key: str, template: str, **context: object) -> None:
    # Each person reads mail in their own language, whoever triggered it.
    with force_locale(user.locale or "en"):
        subjects = {
            "placed": _("Your Kindred order is confirmed"),
            "new_order": _("New order %(ref)s", ref=context.get("reference", "")),
            "shipped": _("Your order %(ref)s is on its way", ref=context.get("reference", "")),
            "delivered": _("Order %(ref)s was delivered", ref=context.get("reference", "")),
            "cancelled": _("Your order %(ref)s was cancelled", ref=context.get("reference", "")),
            "refunded": _("A refund for your order %(ref)s", ref=context.get("reference", "")),
        }
        mail.send(user.email, subjects[subject_key], f"orders/{template}", user=user, **context)


def order_placed(checkout: Checkout, orders: list[Order]) -> None:
    _send(checkout.buyer, "placed", "placed", checkout=checkout, orders=orders)
    for order in orders:
        _send(order.shop.owner, "new_order", "new_order", order=order, reference=order.reference)


def order_shipped(order: Order) -> None:
    _send(order.buyer, "shipped", "shipped", order=order, reference=order.reference)


def order_delivered(order: Order) -> None:
    _send(order.shop.owner, "delivered", "delivered", order=order, reference=order.reference)


def order_cancelled(order: Order, reason: str) -> None:
    _send(
        order.buyer, "cancelled", "cancelled", order=order, reason=reason, reference=order.reference
    )


def order_refunded(order: Order, refund: Refund) -> None:
    _send(
        order.buyer, "refunded", "refunded", order=order, refund=refund, reference=order.reference
    )
