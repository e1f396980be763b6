"""Wiring of buying and selling: pages, API, navigation, jobs, the product delete guard."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from app import hooks as app_hooks
from app import jobs
from app.accounts import signals as account_signals
from app.extensions import db
from app.hooks import NavLink
from app.uow import unit_of_work
from app.web import viewer
from marketplace import tracking
from marketplace.hooks import add_delete_guard
from marketplace.models import Product
from marketplace.order_models import OrderLine
from marketplace.shops import has_shop


def _cart_count() -> Any:
    from marketplace import cart

    return cart.count_items_query(viewer())


def _was_ordered(product: Product) -> bool:
    # Ordered products are archived instead of deleted: order history keeps its rows.
    return (
        db.session.scalar(select(OrderLine.id).where(OrderLine.product_id == product.id).limit(1))
        is not None
    )


def _merge_cart_at_login(_sender: Flask, user, kept, **_extra) -> None:
    from marketplace import cart

    cart.merge_guest_cart(user, kept.get(cart.GUEST_CART_KEY))


def sweep_checkouts() -> int:
    """Close checkouts whose payment window has passed and give their stock back; one
    checkout that fails does not stop the others (it is recorded for the admins)."""
    from app import batches, uow
    from marketplace import checkout

    def close(public_id: str) -> bool:
        found = checkout.find(public_id)
        if found is None:
            return False
        uow.checkpoint()
        try:
            unpaid = checkout.close_payment(found)
        except checkout.PaymentError:
            return False  # Stripe unreachable: the next sweep tries again
        if unpaid:
            checkout.expire(public_id=public_id)
        return bool(unpaid)

    due = checkout.due_for_sweep()
    result = batches.each(
        "orders.sweep_checkouts", due, close, subject=lambda public_id: f"checkout {public_id}"
    )
    return sum(result.outcomes)


def retry_refunds(older_than_seconds: int = 120) -> int:
    """Send again, with the same idempotency key, the refunds Stripe did not confirm; one
    refund that fails does not stop the others (it is recorded for the admins)."""
    from datetime import timedelta

    from app import batches
    from marketplace import orders
    from marketplace.order_models import Refund
    from marketplace.payments import PaymentError

    def retry(refund_id: int) -> bool:
        refund = db.session.get(Refund, refund_id)
        if refund is None:
            return False
        try:
            orders.send_refund(refund)
        except PaymentError:
            return False  # still unanswered: the next sweep tries again
        return True

    due = orders.pending_refunds(older_than=timedelta(seconds=older_than_seconds))
    result = batches.each("orders.retry_refunds", due, retry, subject=lambda i: f"refund {i}")
    return sum(result.outcomes)


def complete_orders() -> int:
    from marketplace import orders

    return orders.auto_complete_due()


def _cart_badge_label(count: int) -> str:
    return ngettext("%(num)d item in your cart", "%(num)d items in your cart", count)


def _sweep_job() -> None:
    sweep_checkouts()
    retry_refunds()


def _complete_job() -> None:
    complete_orders()


def init_app(app: Flask) -> None:
    from marketplace import commerce_api, commerce_views

    app.register_blueprint(commerce_views.shopping)
    app.register_blueprint(commerce_views.seller_orders)
    commerce_api.register()
    add_delete_guard(app, _was_ordered)
    app.add_template_global(tracking.tracking_url, "tracking_url")
    account_signals.logged_in.connect(_merge_cart_at_login, app)
    registry = app_hooks.hooks(app)
    registry.nav.append(
        NavLink(
            60,
            "shopping.cart",
            _l("Cart"),
            badge=_cart_count,
            pinned=True,
            icon="bag",
            badge_label=_cart_badge_label,
        )
    )
    registry.account_nav.extend(
        [
            NavLink(30, "shopping.my_orders", _l("My orders")),
            NavLink(27, "seller_orders.list_orders", _l("Shop orders"), visible=has_shop),
        ]
    )
    jobs.register(app, "marketplace.sweep_checkouts", _sweep_job)
    from marketplace.returns import wiring as returns_wiring

    returns_wiring.init_app(app)
    jobs.register(app, "marketplace.complete_orders", _complete_job)

    @app.cli.group("orders")
    def orders_cli() -> None:
        """Checkouts and orders."""

    @orders_cli.command("sweep")
    def sweep() -> None:
        """Expire unpaid checkouts past their window, and auto-complete shipped orders."""
        with unit_of_work():
            closed = sweep_checkouts()
        with unit_of_work():
            completed = complete_orders()
        with unit_of_work():
            refunded = retry_refunds()
        click.echo(
            f"Closed {closed} expired checkout(s); completed {completed} order(s); "
            f"sent {refunded} pending refund(s)."
        )
