"""Refunds Stripe tells us about: matched to the refund of ours that caused them, or held.

`charge.refunded` names every refund of the charge. Ours carry our refund's id in their
metadata and are settled on their own order, even while our call still waits for its
answer. A refund Stripe made that no intent of ours caused is held for an admin.

Someone refunds straight in Stripe's dashboard, or our own refund was given up as failed
and Stripe made it all the same. The money has left the Stripe balance, but which order,
which line and so which parties give it back is not ours to guess: spreading it over the
checkout's orders once booked another seller's untouched order as refunded. So it is held:

  held-refund:<id>            debit the held refunds account; credit the Stripe balance

and the charge's earnings stay frozen (nothing released, nothing paid) until an admin
decides. The admin books it on an order of the checkout (a refund of that order, paid from
the held money, split as any refund is) or lets the platform bear it:

  held-refund-absorbed:<id>   debit fee revenue; credit the held refunds account
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import mail
from app.accounts.models import User
from app.database import for_update
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, NotFound, RuleViolation
from marketplace import orders as order_services
from marketplace.order_models import Checkout, Order, Refund
from payouts import earnings, ledger
from payouts.ledger import credit, debit
from payouts.models import HeldRefund, HeldRefundStatus

NOTE_MAX = 500


def on_charge_refunded(payload: dict[str, Any]) -> None:
    """Each refund on the charge is matched to the intent that caused it before anything else.

    Ours carry our refund's id in their metadata (the answer to our call may not have come
    back yet: the webhook can arrive while the call is in flight): they are settled on their
    own order. A refund no intent of ours caused (Stripe's dashboard) is never spread onto
    orders it does not name: it is held, with the money, for an admin to decide.
    """
    charge = payload["data"]["object"]
    checkout = db.session.scalar(select(Checkout).where(Checkout.stripe_charge_id == charge["id"]))
    if checkout is None:
        return
    refunds = (charge.get("refunds") or {}).get("data") or []
    for stripe_refund in sorted(refunds, key=lambda r: (r.get("created", 0), r["id"])):
        if stripe_refund.get("status") not in ("succeeded", "pending"):
            continue
        if is_held(stripe_refund["id"]):
            continue
        ours = _our_refund(stripe_refund, checkout)
        if ours is None:
            hold(stripe_refund, charge["id"], why="no refund of ours asked for it")
        elif ours.status == "failed":
            # We gave it up as failed, yet Stripe made it: an admin decides where it goes.
            hold(
                stripe_refund,
                charge["id"],
                why=f"our refund {ours.public_id} was recorded as failed",
            )
        else:
            order_services.settle_refund(ours.id, stripe_refund["id"])


def _our_refund(stripe_refund: dict[str, Any], checkout: Checkout) -> Refund | None:
    """The refund of ours that caused this Stripe refund: by its Stripe id once we have it,
    or by the id our call put in its metadata, on an order of this very checkout."""
    found = db.session.scalar(select(Refund).where(Refund.stripe_refund_id == stripe_refund["id"]))
    if found is None:
        public_id = (stripe_refund.get("metadata") or {}).get("refund")
        if not public_id:
            return None
        found = db.session.scalar(select(Refund).where(Refund.public_id == str(public_id)))
    if found is None or found.order.checkout_id != checkout.id:
        return None
    if found.stripe_refund_id not in (None, stripe_refund["id"]):
        return None
    if found.amount_minor != int(stripe_refund.get("amount") or 0):
        return None
    return found


def is_held(stripe_refund_id: str) -> bool:
    return (
        db.session.scalar(
            select(HeldRefund.id).where(HeldRefund.stripe_refund_id == stripe_refund_id)
        )
        is not None
    )


def hold(stripe_refund: dict[str, Any], charge_id: str, *, why: str) -> HeldRefund | None:
    """Hold a Stripe refund we cannot attribute; once per Stripe refund."""
    if is_held(stripe_refund["id"]):
        return None
    amount = int(stripe_refund.get("amount") or 0)
    if amount <= 0:
        return None
    currency = str(stripe_refund.get("currency") or "").lower() or None
    held = HeldRefund(
        stripe_refund_id=stripe_refund["id"],
        charge_id=charge_id,
        amount_minor=amount,
        currency=currency or _currency_of(charge_id),
        why=why[:255],
    )
    db.session.add(held)
    db.session.flush()
    ledger.post(
        f"held-refund:{held.stripe_refund_id}",
        "held_refund",
        [debit(ledger.HELD_REFUNDS, amount), credit(ledger.STRIPE_BALANCE, amount)],
        memo=f"refund {held.stripe_refund_id} of {charge_id}, held: {why}"[:255],
        currency=held.currency,
    )
    earnings.refresh_freeze(charge_id)
    _tell_the_admins(held)
    return held


def _tell_the_admins(held: HeldRefund) -> None:
    # Sent after the commit, each in the admin's own language.
    for admin in db.session.scalars(select(User).where(User.is_admin.is_(True))):
        with force_locale(admin.locale or "en"):
            mail.send(
                admin.email,
                _("A refund made outside Kindred waits for you"),
                "held_refund",
                user=admin,
                held=held,
            )


def _currency_of(charge_id: str) -> str:
    checkout = db.session.scalar(select(Checkout).where(Checkout.stripe_charge_id == charge_id))
    return checkout.currency if checkout is not None else "eur"


def waiting(limit: int = 50) -> list[HeldRefund]:
    return list(
        db.session.scalars(
            select(HeldRefund)
            .where(HeldRefund.status == HeldRefundStatus.HELD)
            .order_by(HeldRefund.created_at, HeldRefund.id)
            .limit(limit)
        )
    )


def orders_of(held: HeldRefund) -> list[Order]:
    """The orders an admin may book the refund on: those the refunded charge paid for."""
    return list(
        db.session.scalars(
            select(Order)
            .join(Checkout, Checkout.id == Order.checkout_id)
            .where(Checkout.stripe_charge_id == held.charge_id)
            .order_by(Order.id)
        )
    )


def _locked(held_id: int) -> HeldRefund:
    held = db.session.scalar(for_update(select(HeldRefund).where(HeldRefund.id == held_id)))
    if held is None:
        raise NotFound(_("There is no such held refund."))
    if held.status != HeldRefundStatus.HELD:
        raise Conflict(_("This refund has already been decided."))
    return held


def book(admin: User, held_id: int, order_id: int) -> int:
    """Book as much of the held refund as the order has left, line by line then the
    shipping, as a refund of that order; returns the amount booked."""
    held = _locked(held_id)
    if order_id not in {order.id for order in orders_of(held)}:
        raise RuleViolation(_("Choose an order that this payment paid for."), field="order_id")
    order = order_services.lock_order(order_id)
    held = db.session.get(HeldRefund, held_id)  # type: ignore[assignment]
    assert held is not None
    request = order_services.full_refund_request(
        order, restock=False, reason=_("refunded in Stripe")
    )
    left = held.left_minor
    lines: dict[int, int] = {}
    for line_id, refundable in request.lines.items():
        take = min(refundable, left)
        if take > 0:
            lines[line_id] = take
            left -= take
    shipping = min(request.shipping_minor, left)
    left -= shipping
    booked = held.left_minor - left
    if booked <= 0:
        raise RuleViolation(_("Nothing is left to refund on this order."), field="order_id")
    refund = order_services.request_refund(
        None,
        order,
        order_services.RefundRequest(
            lines=lines, shipping_minor=shipping, reason=_("refunded in Stripe")
        ),
    )
    # One held refund may be booked on an order more than once (room can come back on it when
    # a refund of ours is refused): each booking is a refund of its own.
    prefix = f"{earnings.HELD_PREFIX}{held.id}_"
    earlier = db.session.scalar(
        select(func.count(Refund.id)).where(Refund.public_id.startswith(prefix, autoescape=True))
    )
    refund.public_id = f"{prefix}{int(earlier or 0) + 1}"
    refund.created_by_id = admin.id
    db.session.flush()
    order_services.apply_refund(refund)
    held = db.session.get(HeldRefund, held_id)  # type: ignore[assignment]
    assert held is not None
    held.booked_minor += booked
    if held.left_minor == 0:
        _decided(held, admin, HeldRefundStatus.BOOKED, "")
    earnings.refresh_freeze(held.charge_id)
    return booked


def absorb(admin: User, held_id: int, note: str) -> HeldRefund:
    """The platform bears what is left of the held refund; no order is touched."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RuleViolation(_("Use at most %(max)d characters.", max=NOTE_MAX), field="note")
    held = _locked(held_id)
    if held.left_minor > 0:
        ledger.post(
            f"held-refund-absorbed:{held.stripe_refund_id}",
            "held_refund_absorbed",
            [
                debit(ledger.FEE_REVENUE, held.left_minor),
                credit(ledger.HELD_REFUNDS, held.left_minor),
            ],
            memo=f"refund {held.stripe_refund_id} borne by the platform",
            currency=held.currency,
        )
    _decided(held, admin, HeldRefundStatus.ABSORBED, note)
    earnings.refresh_freeze(held.charge_id)
    return held


def _decided(held: HeldRefund, admin: User, status: str, note: str) -> None:
    held.status = status
    held.note = note
    held.decided_by_id = admin.id
    held.decided_at = utcnow()
