"""Sales into earnings and the ledger: posting, fees, release, refunds, disputes.

Every movement is a journal entry whose key comes from its cause, so each posts once:
  sale:<checkout>            debit the Stripe balance; credit each payee's pending, the fee
  stripe-fee:<charge>        debit Stripe fees; credit the Stripe balance
  release:<earning>          a payee's pending -> available, once the hold has passed
  refund:<refund>            each party gives back its part from where it sits; the money
                             leaves the Stripe balance (or the disputed funds)
  dispute:<dispute>          Stripe withholds the disputed amount and its fee
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app import batches, jobs
from app.database import for_update
from app.extensions import db
from app.models import utcnow
from marketplace.order_models import Checkout, Order, OrderLine, Refund
from payouts import ledger, payout_run
from payouts.ledger import Leg, credit, debit
from payouts.models import (
    Dispute,
    Earning,
    EarningState,
    HeldRefund,
    HeldRefundStatus,
    Payee,
    TransferReversal,
)
from payouts.settings import current as current_settings
from payouts.splits import Role, refund_allocation, split
from payouts.terms import Term, stored_terms

LOST_DISPUTE_PREFIX = "dp_"
# Refunds an admin booked on an order from a refund held for attribution.
HELD_PREFIX = "hr_"


def _payee_key(payee_id: int) -> str:
    return f"payee-{payee_id}"


def _where(earning: Earning) -> str:
    """The ledger account an earning's money sits in now."""
    key = _payee_key(earning.payee_id)
    return ledger.pending(key) if earning.state == EarningState.PENDING else ledger.available(key)


# --- a paid checkout ----------------------------------------------------------------------


def post_sale(checkout: Checkout, orders: list[Order]) -> None:
    """On `checkout_paid`: one earning per party per line (and the shipping), one entry."""
    key = f"sale:{checkout.public_id}"
    if ledger.entry_exists(key):
        return
    terms = stored_terms([line.checkout_line_id for order in orders for line in order.lines])
    legs: list[Leg] = [debit(ledger.STRIPE_BALANCE, checkout.total_minor)]
    for order in orders:
        seller_payee: int | None = None
        for line in order.lines:
            line_terms = terms.get(line.checkout_line_id) or []
            if not line_terms:
                raise RuntimeError(f"no split terms for checkout line {line.checkout_line_id}")
            for share, term in _split(line.gross_minor, line_terms):
                if term.payee_id is None:
                    legs.append(credit(ledger.FEE_REVENUE, share))
                    continue
                if term.role is Role.SELLER:
                    seller_payee = term.payee_id
                db.session.add(
                    Earning(
                        payee_id=term.payee_id,
                        order_id=order.id,
                        order_line_id=line.id,
                        role=term.role.value,
                        currency=order.currency,
                        amount_minor=share,
                        source_charge_id=order.stripe_charge_id,
                    )
                )
                legs.append(credit(ledger.pending(_payee_key(term.payee_id)), share))
        if order.shipping_minor and seller_payee is not None:
            # Shipping goes to the seller whole.
            db.session.add(
                Earning(
                    payee_id=seller_payee,
                    order_id=order.id,
                    order_line_id=None,
                    role=Role.SELLER.value,
                    currency=order.currency,
                    amount_minor=order.shipping_minor,
                    source_charge_id=order.stripe_charge_id,
                )
            )
            legs.append(credit(ledger.pending(_payee_key(seller_payee)), order.shipping_minor))
    ledger.post(
        key, "sale", legs, memo=f"checkout {checkout.public_id}", currency=checkout.currency
    )
    db.session.flush()


def _split(gross: int, terms: list[Term]) -> list[tuple[int, Term]]:
    by_party = {t.party: t for t in terms}
    return [
        (share.amount, by_party[share.party]) for share in split(gross, [t.party for t in terms])
    ]


def record_charge(
    order_ids: list[int], charge_id: str, fee_minor: int | None, currency: str
) -> None:
    """The charge behind a payment is known: earnings get their transfer source; the fee posts."""
    for earning in db.session.scalars(select(Earning).where(Earning.order_id.in_(order_ids))):
        earning.source_charge_id = charge_id
    if fee_minor:
        ledger.post(
            f"stripe-fee:{charge_id}",
            "stripe_fee",
            [debit(ledger.STRIPE_FEES, fee_minor), credit(ledger.STRIPE_BALANCE, fee_minor)],
            memo=f"processing fee of {charge_id}",
            currency=currency,
        )


# --- release --------------------------------------------------------------------------------


def start_hold(order: Order) -> None:
    """On `order_delivered`: the order's earnings become available after the hold period."""
    hold = timedelta(days=current_settings().hold_days)
    when = (order.delivered_at or utcnow()) + hold
    for earning in db.session.scalars(select(Earning).where(Earning.order_id == order.id)):
        if earning.available_on is None:
            earning.available_on = when


def release_due(limit: int = 1000, *, as_of: datetime | None = None) -> int:
    """Move earnings whose hold has passed from pending to available; returns how many.

    Each earning is released in a transaction of its own: one that fails is recorded for the
    admins and the others go on. `as_of` lets the demo seed show days going by; everything
    else releases as of now.
    """
    when = as_of or utcnow()
    due = list(
        db.session.scalars(
            select(Earning.id)
            .where(
                Earning.state == EarningState.PENDING,
                Earning.frozen.is_(False),
                Earning.available_on <= when,
            )
            .order_by(Earning.available_on, Earning.id)
            .limit(limit)
        )
    )

    def release(earning_id: int) -> bool:
        # Two releases at once never take the same row: each skips what the other holds.
        earning = db.session.scalar(
            for_update(select(Earning).where(Earning.id == earning_id), skip_locked=True)
        )
        if earning is None or earning.state != EarningState.PENDING or earning.frozen:
            return False
        net = earning.net_minor
        key = _payee_key(earning.payee_id)
        if net:
            ledger.post(
                f"release:{earning.id}",
                "release",
                [debit(ledger.pending(key), net), credit(ledger.available(key), net)],
                currency=earning.currency,
            )
        earning.state = EarningState.AVAILABLE
        earning.released_at = utcnow()
        return True

    result = batches.each("payouts.release", due, release, subject=lambda i: f"earning {i}")
    return sum(result.outcomes)


# --- refunds --------------------------------------------------------------------------------


def post_refund(order: Order, refund: Refund, *, from_account: str = ledger.STRIPE_BALANCE) -> None:
    """On `order_refunded`: each party gives back its part of each refunded line.

    The part is the line's split applied to the line's cumulative refunded amount, minus what
    each party gave back before, so refunds in steps end where one full refund would.
    """
    key = f"refund:{refund.public_id}"
    if ledger.entry_exists(key):
        return
    # Earnings passed on from this order's (a reward, the pool's month) are not its parties.
    earnings = list(
        db.session.scalars(
            select(Earning).where(Earning.order_id == order.id, Earning.origin.is_(None))
        )
    )
    by_line: dict[int | None, list[Earning]] = defaultdict(list)
    for earning in earnings:
        by_line[earning.order_line_id].append(earning)
    terms = stored_terms([line.checkout_line_id for line in order.lines])
    legs: list[Leg] = [credit(from_account, refund.amount_minor)]
    reversals: list[tuple[Earning, int]] = []
    for refund_line in refund.lines:
        if not refund_line.amount_minor:
            continue
        line: OrderLine = refund_line.order_line
        line_terms = terms[line.checkout_line_id]
        parties = [t.party for t in line_terms]
        line_earnings = {(Role(e.role), _payee_key(e.payee_id)): e for e in by_line[line.id]}
        before = line.refunded_minor - refund_line.amount_minor  # apply_refund already added it
        returned = {k: e.refunded_minor for k, e in line_earnings.items()}
        returned[(Role.PLATFORM, "platform")] = before - sum(returned.values())
        step = refund_allocation(line.gross_minor, parties, line.refunded_minor, returned)
        for (role, party_key), amount in step.items():
            if amount == 0:
                continue
            if role is Role.PLATFORM:
                legs.append(debit(ledger.FEE_REVENUE, amount))
                continue
            earning = line_earnings[(role, party_key)]
            _give_back(earning, amount, legs, reversals)
    if refund.shipping_minor:
        shipping = next((e for e in by_line[None]), None)
        if shipping is not None:
            _give_back(shipping, refund.shipping_minor, legs, reversals)
        else:
            legs.append(debit(ledger.FEE_REVENUE, refund.shipping_minor))
    ledger.post(
        key,
        "refund",
        legs,
        memo=f"refund {refund.public_id} of {order.reference}",
        currency=order.currency,
    )
    for earning, amount in reversals:
        _request_reversal(earning, amount, refund.public_id)
    if reversals:
        jobs.enqueue("payouts.reverse_transfers")


def _give_back(
    earning: Earning, amount: int, legs: list[Leg], reversals: list[tuple[Earning, int]]
) -> None:
    legs.append(debit(_where(earning), amount))
    earning.refunded_minor += amount
    if earning.state == EarningState.PAID and amount > 0:
        reversals.append((earning, amount))


def _request_reversal(earning: Earning, amount: int, cause: str) -> None:
    if earning.payout_item_id is None:
        return
    db.session.add(
        TransferReversal(
            payout_item_id=earning.payout_item_id,
            earning_id=earning.id,
            amount_minor=amount,
            idempotency_key=f"reversal:{cause}:{earning.id}",
        )
    )


# --- disputes -------------------------------------------------------------------------------


def _checkout_for_charge(charge_id: str) -> Checkout | None:
    return db.session.scalar(select(Checkout).where(Checkout.stripe_charge_id == charge_id))


def on_dispute_created(payload: dict[str, Any]) -> None:
    data = payload["data"]["object"]
    if db.session.scalar(select(Dispute).where(Dispute.stripe_dispute_id == data["id"])):
        return
    dispute = Dispute(
        stripe_dispute_id=data["id"],
        charge_id=data["charge"],
        amount_minor=int(data["amount"]),
        status=data.get("status", "needs_response"),
        reason=data.get("reason") or "",
    )
    db.session.add(dispute)
    fee = sum(int(b.get("fee", 0)) for b in data.get("balance_transactions") or []) or int(
        current_app.config.get("STRIPE_DISPUTE_FEE_MINOR", 1500)
    )
    currency = data.get("currency", current_app.config["CURRENCY"])
    # Stripe takes the disputed amount and its fee from our balance until the dispute closes.
    ledger.post(
        f"dispute:{data['id']}",
        "dispute",
        [
            debit(ledger.DISPUTED, dispute.amount_minor),
            debit(ledger.STRIPE_FEES, fee),
            credit(ledger.STRIPE_BALANCE, dispute.amount_minor + fee),
        ],
        currency=currency,
    )
    refresh_freeze(data["charge"])


def refresh_freeze(charge_id: str) -> None:
    """A charge's earnings are frozen while a dispute on it is open or a refund nobody here
    made is held for an admin: nothing is released or paid from it until that is decided."""
    checkout = _checkout_for_charge(charge_id)
    if checkout is None:
        return
    db.session.flush()
    frozen = (
        db.session.scalar(
            select(Dispute.id).where(Dispute.charge_id == charge_id, Dispute.closed_at.is_(None))
        )
        is not None
        or db.session.scalar(
            select(HeldRefund.id).where(
                HeldRefund.charge_id == charge_id, HeldRefund.status == HeldRefundStatus.HELD
            )
        )
        is not None
    )
    order_ids = [order.id for order in checkout.orders]
    for earning in db.session.scalars(select(Earning).where(Earning.order_id.in_(order_ids))):
        earning.frozen = frozen


def on_dispute_closed(payload: dict[str, Any]) -> None:
    data = payload["data"]["object"]
    dispute = db.session.scalar(select(Dispute).where(Dispute.stripe_dispute_id == data["id"]))
    if dispute is None:
        on_dispute_created(payload)
        dispute = db.session.scalar(select(Dispute).where(Dispute.stripe_dispute_id == data["id"]))
        assert dispute is not None
    if dispute.closed_at is not None:
        return
    dispute.status = data.get("status", dispute.status)
    dispute.closed_at = utcnow()
    currency = data.get("currency", current_app.config["CURRENCY"])
    if dispute.status == "won":
        ledger.post(
            f"dispute-won:{dispute.stripe_dispute_id}",
            "dispute_won",
            [
                debit(ledger.STRIPE_BALANCE, dispute.amount_minor),
                credit(ledger.DISPUTED, dispute.amount_minor),
            ],
            currency=currency,
        )
        refresh_freeze(dispute.charge_id)
        return
    # Lost: it counts as a full refund of what is left, paid from the withheld funds.
    _lost_dispute_refunds(dispute)
    refresh_freeze(dispute.charge_id)


def _lost_dispute_refunds(dispute: Dispute) -> None:
    from marketplace import orders as order_services

    checkout = _checkout_for_charge(dispute.charge_id)
    remaining = dispute.amount_minor
    if checkout is not None:
        for order in checkout.orders:
            request = order_services.full_refund_request(
                order, restock=False, reason="dispute lost"
            )
            total = sum(request.lines.values()) + request.shipping_minor
            if total <= 0:
                continue
            refund = order_services.request_refund(None, order, request)
            refund.public_id = f"{LOST_DISPUTE_PREFIX}{dispute.stripe_dispute_id}_{order.id}"
            db.session.flush()
            order_services.apply_refund(refund)
            remaining -= total
    if remaining > 0:
        # Anything disputed beyond what the orders hold (should not happen) is the platform's loss.
        ledger.post(
            f"dispute-lost-rest:{dispute.stripe_dispute_id}",
            "dispute_lost",
            [debit(ledger.FEE_REVENUE, remaining), credit(ledger.DISPUTED, remaining)],
        )


def on_order_refunded(order: Order, refund: Refund) -> None:
    # A refund a lost dispute caused is paid from the withheld funds, and one an admin booked
    # from a held refund from the held money, not the Stripe balance (it left it already).
    if refund.public_id.startswith(LOST_DISPUTE_PREFIX):
        source = ledger.DISPUTED
    elif refund.public_id.startswith(HELD_PREFIX):
        source = ledger.HELD_REFUNDS
    else:
        source = ledger.STRIPE_BALANCE
    post_refund(order, refund, from_account=source)


def payee_of(payee_id: int) -> Payee | None:
    return db.session.get(Payee, payee_id)


def on_transfer_reversed(payload: dict[str, Any]) -> None:
    """Each reversal on the transfer is matched to ours (by Stripe id, or by the id our call
    put in its metadata, even while that call is in flight) before anything is treated as
    made outside Kindred; a reversal made in Stripe's dashboard brings money back to the
    platform without a refund, so it stays owed to the payee."""
    from payouts.models import PayoutItem

    transfer = payload["data"]["object"]
    item = db.session.scalar(
        for_update(select(PayoutItem).where(PayoutItem.stripe_transfer_id == transfer["id"]))
    )
    if item is None:
        return
    for stripe_reversal in (transfer.get("reversals") or {}).get("data") or []:
        reversal_id = stripe_reversal["id"]
        if db.session.scalar(
            select(TransferReversal.id).where(TransferReversal.stripe_reversal_id == reversal_id)
        ):
            continue
        ours = str((stripe_reversal.get("metadata") or {}).get("reversal") or "")
        mine = (
            db.session.get(TransferReversal, int(ours))
            if ours.isdigit() and len(ours) < 10
            else None
        )
        if mine is not None and mine.payout_item_id == item.id:
            if mine.amount_minor == int(stripe_reversal["amount"]):
                payout_run.record_reversal(mine.id, reversal_id)
            continue
        amount = int(stripe_reversal["amount"])
        key = f"outside-reversal:{reversal_id}"
        if amount <= 0 or ledger.entry_exists(key):
            continue
        ledger.post(
            key,
            "transfer_reversal",
            [
                debit(ledger.STRIPE_BALANCE, amount),
                credit(ledger.available(_payee_key(item.payee_id)), amount),
            ],
            memo=f"reversal {reversal_id} of {transfer['id']} made outside Kindred",
            currency=item.currency,
        )
        item.reversed_minor += amount


def on_payout_failed(payload: dict[str, Any]) -> None:
    """A connected account's payout to its bank failed: tell the payee on their page."""
    payout = payload["data"]["object"]
    account = payload.get("account")
    payee = (
        db.session.scalar(select(Payee).where(Payee.stripe_account_id == account))
        if account
        else None
    )
    if payee is not None:
        # Stripe's own words; the page says the rest in the payee's language.
        reason = payout.get("failure_message") or payout.get("failure_code") or "?"
        payee.last_payout_failure = str(reason)
