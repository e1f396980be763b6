"""Sales to payouts and back, against the emulator, with every invariant checked on the way."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.uow import unit_of_work
from payouts import ledger, reconcile
from payouts.models import Earning, EarningState, PayoutItem, TransferReversal
from tests.conftest import login
from tests.factories import UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops
from tests.payouts.money import check_invariants, onboard, pay_out, release_after_hold


def deliver(client, order, buyer):
    client.post_form("/logout")
    login(client, order.shop.owner)
    client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"})
    client.post_form("/logout")
    login(client, buyer)
    client.post_form(f"/orders/{order.id}/confirm-delivery")
    client.post_form("/logout")


def test_a_sale_is_split_posted_released_paid_and_reconciled(app, client, emulator):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl, jacket)
    bowl_order, jacket_order = orders_of(checkout)
    ana, bruno = bowl_order.shop.owner, jacket_order.shop.owner
    # The sale: 70.00 in; fees 2.00 + 3.20; Ana 23.00 + 5.00 shipping; Bruno 36.80.
    assert ledger.balance(ledger.FEE_REVENUE) == 520
    assert (
        ledger.balance(ledger.pending("payee-1")) + ledger.balance(ledger.pending("payee-2"))
        == 2800 + 3680
    )
    fee = emulator.get(emulator.get(checkout.stripe_charge_id)["balance_transaction"])["fee"]
    assert ledger.balance(ledger.STRIPE_FEES) == fee > 0
    check_invariants(emulator)

    # Not delivered: nothing to release.
    assert release_after_hold() == 0
    deliver(client, bowl_order, buyer)
    assert release_after_hold(days=3) == 0  # the hold (7 days) has not passed
    assert release_after_hold(days=8) == 2  # the bowl line and the shipping
    # Earnings accrue before onboarding; nothing is paid to someone without an account.
    result = pay_out()
    assert result.created == 0
    onboard(ana, emulator)
    onboard(bruno, emulator)
    result = pay_out()
    assert (result.created, result.paid) == (1, 1)
    item = db.session.scalar(select(PayoutItem))
    transfer = emulator.get(item.stripe_transfer_id)
    assert (
        transfer["amount"] == 2800 and transfer["source_transaction"] == checkout.stripe_charge_id
    )
    assert transfer["transfer_group"] == checkout.public_id
    assert all(
        e.state == EarningState.PAID
        for e in db.session.scalars(select(Earning).where(Earning.order_id == bowl_order.id))
    )
    # Paying again pays nothing twice.
    assert pay_out().created == 0
    check_invariants(emulator)


def test_refunds_after_payout_reverse_the_exact_transfer(app, client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl)
    (order,) = orders_of(checkout)
    ana = order.shop.owner
    deliver(client, order, buyer)
    release_after_hold()
    onboard(ana, emulator)
    pay_out()
    line = order.lines[0]
    login(client, ana)
    # Two partial refunds: 10.00 then 15.00 of the 25.00 line, then the shipping.
    client.post_form(f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "10.00"})
    client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "15.00", "shipping": "5.00"}
    )
    pay_out()  # runs the pending reversals
    reversals = db.session.scalars(select(TransferReversal).order_by(TransferReversal.id)).all()
    assert [r.status for r in reversals] == ["succeeded"] * len(reversals)
    item = db.session.scalar(select(PayoutItem))
    # Ana's whole share (23.00 of the line and 5.00 of shipping) came back from her transfer.
    assert item.reversed_minor == 2800
    assert emulator.get(item.stripe_transfer_id)["amount_reversed"] == 2800
    # The platform gave back its whole fee: the refunds ended where a full refund would.
    assert ledger.balance(ledger.FEE_REVENUE) == 0
    earnings = db.session.scalars(select(Earning).where(Earning.order_id == order.id)).all()
    assert all(e.net_minor == 0 for e in earnings)
    check_invariants(emulator)


def test_refund_before_release_comes_out_of_pending(app, client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl)
    (order,) = orders_of(checkout)
    client.post_form("/logout")
    # The buyer cannot cancel as if they were the seller.
    login(client, buyer)
    assert (
        client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": "x"}).status_code
        == 403
    )
    client.post_form("/logout")
    login(client, order.shop.owner)
    client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": "kiln accident"})
    assert ledger.balance(ledger.pending("payee-1")) == 0
    assert ledger.balance(ledger.FEE_REVENUE) == 0
    assert db.session.scalar(select(TransferReversal)) is None
    check_invariants(emulator)


def test_a_transfer_whose_answer_was_lost_is_in_flight_until_the_next_run(app, client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    (order,) = orders_of(buy(client, buyer, bowl))
    deliver(client, order, buyer)
    release_after_hold()
    onboard(order.shop.owner, emulator)
    # Stripe makes the transfer, but every answer is lost: the item stays pending here.
    emulator.fail_next("/v1/transfers", count=3, kind="disconnect", when="after")
    result = pay_out()
    emulator.faults.clear()
    assert (result.paid, result.pending) == (0, 1)
    assert len(emulator.objects("transfer")) == 1
    with unit_of_work(write=False):
        report = reconcile.run()
    assert report.ok, report.differences
    assert report.in_flight_minor == 2800
    check_invariants(emulator)
    # The next run replays the item's key: the same transfer, now recorded; nothing paid twice.
    assert pay_out().paid == 1
    assert len(emulator.objects("transfer")) == 1
    with unit_of_work(write=False):
        report = reconcile.run()
    assert report.ok and report.in_flight_minor == 0
    check_invariants(emulator)
