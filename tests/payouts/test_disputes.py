from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from marketplace.order_models import Order
from payouts import ledger
from payouts.models import Dispute, Earning
from payouts.runtime import deliver_webhooks
from tests.factories import UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops
from tests.payouts.money import check_invariants, pay_out, release_after_hold


def dispute(emulator, checkout):
    charge_id = checkout.stripe_charge_id
    db.session.commit()
    created = emulator.create_dispute(charge_id)
    deliver_webhooks()
    db.session.commit()
    return created


def test_a_dispute_freezes_the_earnings_and_a_lost_one_refunds_everything(app, client, emulator):
    bowl, jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl, jacket)
    created = dispute(emulator, checkout)
    assert db.session.scalar(select(Dispute)).amount_minor == checkout.total_minor
    assert all(e.frozen for e in db.session.scalars(select(Earning)))
    assert ledger.balance(ledger.DISPUTED) == checkout.total_minor
    check_invariants(emulator)
    # Frozen earnings are not released, whatever the dates.
    for order in orders_of(checkout):
        order.delivered_at = order.created_at
    db.session.commit()
    assert release_after_hold(days=30) == 0
    db.session.commit()
    emulator.close_dispute(created["id"], won=False)
    deliver_webhooks()
    db.session.commit()
    orders = db.session.scalars(select(Order)).all()
    assert all(o.refunded_minor == o.total_minor for o in orders)
    assert all(e.net_minor == 0 and not e.frozen for e in db.session.scalars(select(Earning)))
    assert ledger.balance(ledger.DISPUTED) == 0
    assert ledger.balance(ledger.FEE_REVENUE) == 0
    check_invariants(emulator)
    # A replayed close changes nothing.
    emulator.deliver_due_webhooks()
    assert pay_out().created == 0


def test_a_won_dispute_returns_the_funds_and_unfreezes(app, client, emulator):
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    created = dispute(emulator, checkout)
    emulator.close_dispute(created["id"], won=True)
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    assert ledger.balance(ledger.DISPUTED) == 0
    assert not any(e.frozen for e in db.session.scalars(select(Earning)))
    assert db.session.scalar(select(Order)).refunded_minor == 0
    check_invariants(emulator)


def test_a_refund_made_in_stripes_dashboard_is_held_then_booked_by_an_admin(
    app, client, emulator, gateway
):
    from app.uow import unit_of_work
    from payouts import held_refunds
    from payouts.models import HeldRefund, HeldRefundStatus
    from tests.conftest import login

    bowl, jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl, jacket)
    intent = checkout.stripe_payment_intent_id
    db.session.commit()
    # Someone refunds 35.00 straight in Stripe: no order is touched until an admin decides.
    gateway.refund(payment_intent=intent, amount=3500, idempotency_key="dashboard-1")
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    first, second = orders_of(checkout)
    assert (first.refunded_minor, second.refunded_minor) == (0, 0)
    held = db.session.scalar(select(HeldRefund))
    admin = UserFactory(is_admin=True)
    # The admin books it on the first order (30.00 is all it has), then the rest on the next.
    with unit_of_work():
        assert held_refunds.book(admin, held.id, first.id) == 3000
    with unit_of_work():
        assert held_refunds.book(admin, held.id, second.id) == 500
    first, second = orders_of(checkout)
    assert (first.refunded_minor, second.refunded_minor) == (3000, 500)
    held = db.session.scalar(select(HeldRefund))
    assert held.status == HeldRefundStatus.BOOKED and held.left_minor == 0
    assert ledger.balance(ledger.HELD_REFUNDS) == 0
    assert not any(e.frozen for e in db.session.scalars(select(Earning)))
    # Our own refunds are not counted twice when Stripe tells us about them.
    login(client, second.shop.owner)
    client.post_form(
        f"/account/shop/orders/{second.id}/refund", {f"line-{second.lines[0].id}": "1.00"}
    )
    db.session.commit()
    assert db.session.get(Order, second.id).refunded_minor == 600
    assert db.session.scalar(select(db.func.count(HeldRefund.id))) == 1
    check_invariants(emulator)


def test_a_held_refund_the_platform_bears_touches_no_order(app, client, emulator, gateway):
    from app.uow import unit_of_work
    from payouts import held_refunds
    from payouts.models import HeldRefund, HeldRefundStatus

    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    intent = checkout.stripe_payment_intent_id
    db.session.commit()
    gateway.refund(payment_intent=intent, amount=700, idempotency_key="dashboard-2")
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    held = db.session.scalar(select(HeldRefund))
    fees_before = ledger.balance(ledger.FEE_REVENUE)
    with unit_of_work():
        held_refunds.absorb(UserFactory(is_admin=True), held.id, "goodwill, agreed by phone")
    held = db.session.scalar(select(HeldRefund))
    assert held.status == HeldRefundStatus.ABSORBED and held.note.startswith("goodwill")
    assert ledger.balance(ledger.FEE_REVENUE) == fees_before - 700
    assert ledger.balance(ledger.HELD_REFUNDS) == 0
    assert db.session.scalar(select(Order)).refunded_minor == 0
    assert not any(e.frozen for e in db.session.scalars(select(Earning)))
    check_invariants(emulator)
