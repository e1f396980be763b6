"""The marketplace's payment port, implemented with Stripe, and the webhooks that drive it.

Payment pages are Stripe Checkout Sessions, one per checkout, with the checkout's public id as
transfer group, client reference and idempotency key. Stripe's webhooks are the truth: a
completed session becomes orders, an expired one gives the stock back. The charge behind a
payment is fetched afterwards by a job, outside any database transaction.
"""

from __future__ import annotations

from typing import Any

import stripe
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from app import jobs, uow
from app.extensions import db
from marketplace import checkout as checkouts
from marketplace.order_models import Checkout, Order
from marketplace.payments import (
    AlreadyPaid,
    PaymentError,
    PaymentPage,
    RefundIntent,
    RefundResult,
    register_provider,
)
from payouts import webhooks
from payouts.gateway import CheckoutLine, GatewayError, GatewayRejected, GatewayUnavailable
from payouts.runtime import gateway


def _payment_error(error: GatewayError) -> PaymentError:
    return PaymentError(error.message, retryable=isinstance(error, GatewayUnavailable))


class StripePayments:
    def open_payment_page(
        self, checkout: Checkout, *, success_url: str, cancel_url: str
    ) -> PaymentPage:
        lines = []
        for line in checkout.lines:
            name = f"{line.title} — {line.variant_label}" if line.variant_label else line.title
            if not line.discount_minor:
                lines.append(CheckoutLine(name, line.unit_price_minor, line.quantity))
            elif line.gross_minor > 0:
                # A discounted line's total need not divide by its quantity: Stripe is shown
                # the line once, at what the buyer pays for it, so the session's total is the
                # checkout's to the cent.
                lines.append(
                    CheckoutLine(
                        _(
                            "%(quantity)d × %(name)s (discounted)",  # noqa: RUF001 - the sign people read
                            quantity=line.quantity,
                            name=name,
                        ),
                        line.gross_minor,
                        1,
                    )
                )
        shops = {line.shop_id: line.shop for line in checkout.lines}
        for shop_id, amount in sorted(checkout.shipping_by_shop.items()):
            if int(amount) > 0:
                lines.append(
                    CheckoutLine(
                        _("Shipping from %(shop)s", shop=shops[int(shop_id)].name), int(amount), 1
                    )
                )
        try:
            session = gateway().create_checkout_session(
                lines=lines,
                currency=checkout.currency,
                transfer_group=checkout.public_id,
                success_url=success_url,
                cancel_url=cancel_url,
                expires_at=int(checkout.expires_at.timestamp()),
                idempotency_key=f"checkout:{checkout.public_id}:session",
                customer_email=checkout.buyer.email,
                metadata={"checkout": checkout.public_id},
            )
        except GatewayError as error:
            raise _payment_error(error) from error
        return PaymentPage(session_id=session.id, url=session.url or "")

    def page_url(self, stored_url: str) -> str:
        return gateway().browser_url(stored_url)

    def close_payment_page(self, checkout: Checkout) -> None:
        assert checkout.stripe_session_id
        try:
            gateway().expire_checkout_session(
                checkout.stripe_session_id, idempotency_key=f"checkout:{checkout.public_id}:expire"
            )
        except GatewayRejected as error:
            # Stripe refuses to expire a session that is complete (or already expired).
            try:
                session = gateway().retrieve_checkout_session(checkout.stripe_session_id)
            except GatewayError as inner:
                raise _payment_error(inner) from inner
            if session.status == "complete":
                raise AlreadyPaid(_("The buyer has just paid.")) from error
            if session.status != "expired":
                raise _payment_error(error) from error
        except GatewayError as error:
            raise _payment_error(error) from error

    def refund(self, intent: RefundIntent) -> RefundResult:
        try:
            result = gateway().refund(
                payment_intent=intent.payment_intent_id,
                amount=intent.amount_minor,
                idempotency_key=f"refund:{intent.refund_public_id}",
                metadata={"order": intent.order_reference, "refund": intent.refund_public_id},
            )
        except GatewayError as error:
            raise _payment_error(error) from error
        return _refund_result(result)

    def find_refund(self, intent: RefundIntent) -> RefundResult | None:
        try:
            found = gateway().find_refund(
                payment_intent=intent.payment_intent_id,
                metadata={"refund": intent.refund_public_id},
            )
        except GatewayError as error:
            raise _payment_error(error) from error
        return _refund_result(found) if found is not None else None


def _refund_result(result: stripe.Refund) -> RefundResult:
    # "pending" refunds almost always go through; a later failure arrives as refund.failed.
    return RefundResult(
        provider_refund_id=result.id,
        succeeded=result.status in ("succeeded", "pending"),
        failure_message=getattr(result, "failure_reason", None),
    )


# --- webhooks -------------------------------------------------------------------------------


def _session(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["data"]["object"]


def _for_a_checkout(session: dict[str, Any]) -> bool:
    """Sessions with another purpose (an idea's reward) are handled by their own feature."""
    return not (session.get("metadata") or {}).get("purpose")


def on_session_completed(payload: dict[str, Any]) -> None:
    session = _session(payload)
    if not _for_a_checkout(session):
        return
    if session.get("mode") not in (None, "payment") or session.get("payment_status") != "paid":
        return
    payment_intent = session.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    orders = checkouts.record_payment(
        public_id=(session.get("metadata") or {}).get("checkout")
        or session.get("client_reference_id"),
        session_id=session.get("id"),
        payment_intent_id=payment_intent,
        charge_id=None,
        amount_total=session.get("amount_total"),
    )
    if orders:
        jobs.enqueue("payouts.sync_charge", checkout_id=orders[0].checkout_id)


def on_session_expired(payload: dict[str, Any]) -> None:
    session = _session(payload)
    if not _for_a_checkout(session):
        return
    checkouts.expire(
        public_id=(session.get("metadata") or {}).get("checkout")
        or session.get("client_reference_id"),
        session_id=session.get("id"),
    )


def charge_of(payment_intent_id: str) -> tuple[str | None, int | None]:
    """The charge behind a payment, and Stripe's fee for it when known (asked of Stripe: call
    it with no transaction open)."""
    intent = gateway().retrieve_payment_intent(payment_intent_id)
    charge = intent.latest_charge
    charge_id = charge if isinstance(charge, str) else getattr(charge, "id", None)
    transaction = getattr(charge, "balance_transaction", None)
    fee = (
        getattr(transaction, "fee", None)
        if transaction is not None and not isinstance(transaction, str)
        else None
    )
    return charge_id, int(fee) if fee is not None else None


def sync_charge(checkout_id: int) -> None:
    """Record the charge behind a paid checkout (transfers use it as their source)."""
    checkout = db.session.get(Checkout, checkout_id)
    if checkout is None or checkout.stripe_charge_id or not checkout.stripe_payment_intent_id:
        return
    payment_intent_id = checkout.stripe_payment_intent_id
    uow.checkpoint()  # no transaction open across the call to Stripe
    charge_id, fee = charge_of(payment_intent_id)
    if not charge_id:
        return
    checkout = db.session.get(Checkout, checkout_id)
    assert checkout is not None
    checkout.stripe_charge_id = charge_id
    order_ids = []
    for order in db.session.scalars(select(Order).where(Order.checkout_id == checkout_id)):
        order.stripe_charge_id = charge_id
        order_ids.append(order.id)
    from payouts import earnings

    earnings.record_charge(order_ids, charge_id, fee, checkout.currency)


def init_app(app: Flask) -> None:
    register_provider(app, StripePayments())
    webhooks.on(app, "checkout.session.completed", on_session_completed)
    webhooks.on(app, "checkout.session.async_payment_succeeded", on_session_completed)
    webhooks.on(app, "checkout.session.expired", on_session_expired)
    jobs.register(app, "payouts.sync_charge", sync_charge)
