"""Demo sales: real checkouts paid on the emulator, so orders, Stripe objects and (as the
payouts feature grows) earnings all exist as they would after real use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import uow
from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders
from marketplace.models import Product, ProductStatus, Shop
from marketplace.order_models import Checkout, CheckoutStatus, Order
from payouts.runtime import deliver_webhooks, emulator

DEMO_ADDRESS = {
    "name": "Farid Haddad",
    "line1": "12 rue des Lilas",
    "line2": "",
    "city": "Lyon",
    "postal_code": "69003",
    "region": "",
    "country": "FR",
    "phone": "",
}

# buyer handle, [(shop owner handle, nth product of that shop, quantity)], what happens after
DEMO_SALES = [
    ("farid", [("ana", 0, 2), ("bruno", 1, 1)], "delivered"),
    ("farid", [("emma", 0, 1)], "shipped"),
    ("chloe", [("ana", 2, 1), ("emma", 1, 1)], "paid"),
    ("dev", [("bruno", 0, 1)], "delivered"),
]


def _product(owner_handle: str, nth: int) -> Product | None:
    return db.session.scalars(
        select(Product)
        .join(Shop, Shop.id == Product.shop_id)
        .join(User, User.id == Shop.owner_id)
        .where(
            User.handle == owner_handle,
            Product.status == ProductStatus.ACTIVE,
            Product.stock_total > 0,
        )
        .order_by(Product.id)
        .offset(nth)
        .limit(1)
    ).first()


def seed_sales(progress: Progress) -> None:
    emu = emulator()
    if emu is None:
        progress.step("real Stripe keys are set: no demo sales")
        return
    for buyer_handle, items, outcome in DEMO_SALES:
        buyer = db.session.scalar(select(User).where(User.handle == buyer_handle))
        if buyer is None:
            continue
        for owner, nth, quantity in items:
            product = _product(owner, nth)
            if product is not None:
                carts.add(buyer, product.variants[0].id, quantity)
        started = checkouts.start(buyer, DEMO_ADDRESS)
        uow.checkpoint()  # never hold a transaction across a Stripe call
        checkout = db.session.get(Checkout, started.checkout.id)
        assert checkout is not None
        checkouts.open_payment(
            checkout,
            success_url="http://127.0.0.1:5000/orders",
            cancel_url="http://127.0.0.1:5000/cart",
        )
        checkout_id, session_id = checkout.id, checkout.stripe_session_id
        uow.checkpoint()
        emu.pay_checkout_session(session_id, "4000000000000077")
        deliver_webhooks()  # the orders are created by our webhook endpoint, as in real use
        checkout = db.session.get(Checkout, checkout_id)
        assert checkout is not None and checkout.status == CheckoutStatus.PAID
        for order in db.session.scalars(select(Order).where(Order.checkout_id == checkout.id)):
            seller = order.shop.owner
            if outcome in ("shipped", "delivered"):
                orders.mark_shipped(seller, order.id, "La Poste", f"6A{order.id:09d}")
            if outcome == "delivered":
                orders.confirm_delivery(buyer, order.id)
        uow.checkpoint()
        deliver_webhooks()
        progress.step(f"@{buyer_handle} bought from {len(items)} shop(s): {outcome}")
    _earnings_in_every_state(progress, emu)


def _earnings_in_every_state(progress: Progress, emu: Any) -> None:
    """Ana has set up payouts and been paid; Bruno's earnings wait for him to set up his."""
    from datetime import timedelta

    from app.models import utcnow
    from payouts import earnings, payees, payout_run
    from payouts.models import Payee

    ana = db.session.scalar(select(User).where(User.handle == "ana"))
    if ana is not None:
        payees.start_onboarding(
            ana,
            return_url="http://127.0.0.1:5000/account/payouts/return",
            refresh_url="http://127.0.0.1:5000/account/payouts",
        )
        uow.checkpoint()
        payee = payees.find_user_payee(ana.id)
        assert payee is not None and payee.stripe_account_id
        emu.complete_onboarding(payee.stripe_account_id)
        payees.refresh_status(db.session.get(Payee, payee.id))  # type: ignore[arg-type]
        uow.checkpoint()
        progress.step("@ana set up payouts (Stripe Express, emulated)")
    # The demo's delivered orders have passed their hold period, as if a week went by.
    released = earnings.release_due(as_of=utcnow() + timedelta(days=30))
    uow.checkpoint()
    result = payout_run.run()
    uow.checkpoint()
    deliver_webhooks()
    progress.step(f"{released} earning(s) released; payout run: {result.paid} transfer(s)")
