"""The demo's returns: one in each state, on the demo's delivered sales, through the same
steps as the pages (the refunded one through the orders' refund path and the emulator)."""

from __future__ import annotations

from sqlalchemy import select

from app import uow
from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from marketplace import orders
from marketplace.models import Shop
from marketplace.order_models import Order
from marketplace.returns import steps
from marketplace.returns.models import ReturnRequest

# (buyer, seller, what happens, why, the buyer's words, the seller's answer)
DEMO_RETURNS = [
    (
        "farid",
        "ana",
        "refunded",
        "damaged",
        "One of the two bowls arrived with a chipped rim.",
        "So sorry! Post it back to Rua das Flores 12, Porto; I refund you on arrival.",
    ),
    (
        "dev",
        "bruno",
        "accepted",
        "does_not_fit",
        "Too tight at the waist, sadly.",
        "No problem: Keller Vintage, Bergmannstr. 5, Berlin. Postage is on you, as in my policy.",
    ),
    (
        "chloe",
        "emma",
        "requested",
        "not_as_described",
        "The colour is much greyer than in the photos.",
        "",
    ),
    (
        "emma",
        "bruno",
        "refused",
        "changed_mind",
        "I found another pair I prefer.",
        "These were shortened to your measurements, so they cannot be resold.",
    ),
    (
        "bruno",
        "ana",
        "escalated",
        "wrong_item",
        "I ordered the speckled mug, this is plain.",
        "It is the speckled glaze, only lightly speckled on this one.",
    ),
]


def _delivered_order(buyer: User, seller_handle: str) -> Order | None:
    return db.session.scalars(
        select(Order)
        .join(Shop, Shop.id == Order.shop_id)
        .join(User, User.id == Shop.owner_id)
        .where(
            Order.buyer_id == buyer.id,
            User.handle == seller_handle,
            Order.status.in_(orders.DELIVERED_STATES),
        )
        .order_by(Order.id)
        .limit(1)
    ).first()


def seed_returns(progress: Progress) -> None:
    if db.session.scalar(select(ReturnRequest.id).limit(1)) is not None:
        return
    for buyer_handle, seller_handle, state, reason, words, answer in DEMO_RETURNS:
        buyer = db.session.scalar(select(User).where(User.handle == buyer_handle))
        order = _delivered_order(buyer, seller_handle) if buyer is not None else None
        if buyer is None or order is None:
            continue
        seller = order.shop.owner
        line = order.lines[0]
        found = steps.ask(
            buyer, order.id, steps.ReturnAsk({line.id: 1}, reason=reason, reason_text=words)
        )
        if state in ("accepted", "refunded"):
            steps.accept(seller, found.id, answer)
        elif state in ("refused", "escalated"):
            steps.refuse(seller, found.id, answer)
        if state == "escalated":
            steps.escalate(buyer, found.id, "The photos on the listing show many speckles.")
        if state == "refunded":
            refund = steps.receive(seller, found.id, restock=True)
            if refund is not None:
                orders.deliver_refund(refund)  # commits first, then the (emulated) Stripe call
        uow.checkpoint()
        progress.step(f"@{buyer_handle}'s return to @{seller_handle}: {state}")
