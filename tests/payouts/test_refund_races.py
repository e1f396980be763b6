"""Refunds when things happen at once: a webhook for our own refund arriving while the call
is in flight, parallel refunds on one order, refunds nobody at Kindred made."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.uow import unit_of_work
from marketplace import commerce
from marketplace.order_models import Order, Refund, RefundStatus
from payouts import ledger
from payouts.models import Earning, HeldRefund, HeldRefundStatus
from payouts.runtime import deliver_webhooks
from tests.concurrency import at_once
from tests.conftest import login
from tests.factories import UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops
from tests.payouts.money import check_invariants, pay_out
from tests.payouts.test_payout_claims import sale_ready_to_pay


def _lose_refund_answers(emulator: Any) -> None:
    # Stripe makes the refund, but every answer (the SDK's retries too) is lost.
    emulator.fail_next("/v1/refunds", count=3, kind="disconnect", when="after")


def _cancelled_with_answer_lost(client: Any, emulator: Any) -> tuple[Order, Order]:
    """Two shops in one payment; the first seller cancels and Stripe's answers are lost."""
    bowl, jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl, jacket)
    db.session.commit()
    deliver_webhooks()  # where the test holds webhooks back, the orders are made now
    bowl_order, jacket_order = orders_of(checkout)
    login(client, bowl_order.shop.owner)
    _lose_refund_answers(emulator)
    client.post_form(f"/account/shop/orders/{bowl_order.id}/cancel", {"reason": "broken"})
    return bowl_order, jacket_order


def test_the_webhook_of_our_own_refund_is_booked_on_our_order_only(app, client, emulator):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl, jacket)
    bowl_order, jacket_order = orders_of(checkout)
    login(client, bowl_order.shop.owner)
    _lose_refund_answers(emulator)
    # The seller cancels; Stripe refunds, the answer is lost, and charge.refunded arrives
    # (delivered after the response) while our refund is still pending.
    client.post_form(f"/account/shop/orders/{bowl_order.id}/cancel", {"reason": "kiln accident"})
    deliver_webhooks()
    db.session.commit()
    refund = db.session.scalar(select(Refund).where(Refund.order_id == bowl_order.id))
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.stripe_refund_id is not None
    assert db.session.get(Order, jacket_order.id).refunded_minor == 0
    assert db.session.get(Order, bowl_order.id).refunded_minor == bowl_order.total_minor
    assert all(
        e.refunded_minor == 0
        for e in db.session.scalars(select(Earning).where(Earning.order_id == jacket_order.id))
    )
    # The sweep finds nothing left to send, and fails on nothing.
    with unit_of_work():
        commerce.retry_refunds()
    assert len(emulator.objects("refund")) == 1
    assert db.session.scalar(select(HeldRefund)) is None
    check_invariants(emulator)


class WebhooksHeldBack:
    """Webhooks wait until the test delivers them (not after each response)."""

    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "STRIPE_EMULATOR_AUTO_DELIVER": False}


class TestWebhooksHeldBack(WebhooksHeldBack):
    """A refund's answer is lost; its webhook comes before, or after, the sweep."""

    def test_a_refund_whose_answer_was_lost_is_completed_by_the_sweep(self, app, client, emulator):
        bowl_order, jacket_order = _cancelled_with_answer_lost(client, emulator)
        refund = db.session.scalar(select(Refund).where(Refund.order_id == bowl_order.id))
        assert refund.status == RefundStatus.PENDING
        # The sweep replays the key before the webhook arrives, then the webhook comes.
        with unit_of_work():
            assert commerce.retry_refunds(older_than_seconds=0) == 1
        db.session.commit()
        deliver_webhooks()
        db.session.commit()
        assert db.session.get(Order, jacket_order.id).refunded_minor == 0
        assert db.session.get(Order, bowl_order.id).refunded_minor == bowl_order.total_minor
        assert len(emulator.objects("refund")) == 1
        check_invariants(emulator)

    def test_the_webhook_of_a_refund_in_flight_settles_it_and_the_sweep_finds_it_done(
        self, app, client, emulator
    ):
        bowl_order, jacket_order = _cancelled_with_answer_lost(client, emulator)
        refund = db.session.scalar(select(Refund).where(Refund.order_id == bowl_order.id))
        assert refund.status == RefundStatus.PENDING and refund.stripe_refund_id is None
        db.session.commit()
        deliver_webhooks()  # charge.refunded, while our refund waits for its answer
        db.session.commit()
        assert db.session.get(Order, jacket_order.id).refunded_minor == 0
        assert db.session.get(Order, bowl_order.id).refunded_minor == bowl_order.total_minor
        with unit_of_work():
            commerce.retry_refunds(older_than_seconds=0)
        db.session.commit()
        assert db.session.get(Order, bowl_order.id).refunded_minor == bowl_order.total_minor
        assert db.session.scalar(select(HeldRefund)) is None
        assert len(emulator.objects("refund")) == 1
        check_invariants(emulator)


def test_a_refund_made_outside_kindred_is_held_for_an_admin(app, client, emulator, gateway, outbox):
    admin = UserFactory(is_admin=True)
    bowl, jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl, jacket)
    db.session.commit()
    gateway.refund(
        payment_intent=checkout.stripe_payment_intent_id, amount=3500, idempotency_key="dash-1"
    )
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    first, second = orders_of(checkout)
    # Nothing is spread onto orders the refund does not name.
    assert (first.refunded_minor, second.refunded_minor) == (0, 0)
    held = db.session.scalar(select(HeldRefund))
    assert held is not None and held.amount_minor == 3500
    assert held.status == HeldRefundStatus.HELD
    # The money is held: it left Stripe, it sits in the held account, nobody is paid from
    # the checkout while an admin decides.
    assert ledger.balance(ledger.HELD_REFUNDS) == 3500
    assert all(e.frozen for e in db.session.scalars(select(Earning)))
    # The admins are told, with the way to decide.
    (told,) = [m for m in outbox() if m["To"] == admin.email]
    assert "€35.00" in told.get_content() and "/admin/payouts/#held-refunds" in told.get_content()
    check_invariants(emulator)
    # The same webhook again changes nothing.
    emulator_event = emulator.events("charge.refunded")[0]
    from payouts import held_refunds

    with unit_of_work():
        held_refunds.on_charge_refunded(emulator_event)
    assert db.session.scalar(select(db.func.count(HeldRefund.id))) == 1


@pytest.mark.usefixtures("postgres_only")
def test_parallel_refunds_on_one_order_never_refund_beyond_the_line(app, client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    (order,) = orders_of(buy(client, buyer, bowl))
    seller = order.shop.owner
    order_id, line_id = order.id, order.lines[0].id
    clients = []
    for _ in range(6):
        seller_client = app.test_client()
        login(seller_client, seller)
        clients.append((seller_client, seller_client.csrf_token()))
    db.session.commit()

    def refunding(seller_client: Any, token: str) -> Any:
        def refund_ten() -> None:
            seller_client.post(
                f"/account/shop/orders/{order_id}/refund",
                data={f"line-{line_id}": "10.00", "csrf_token": token},
            )

        return refund_ten

    at_once(app, [refunding(c, t) for c, t in clients], in_unit_of_work=False)
    db.session.commit()
    fresh = db.session.get(Order, order.id)
    db.session.refresh(fresh)
    at_stripe = sum(r["amount"] for r in emulator.objects("refund"))
    succeeded = db.session.scalars(
        select(Refund).where(Refund.order_id == order.id, Refund.status == "succeeded")
    ).all()
    # The €25 line takes two €10 refunds; the others are refused, and nothing is lost.
    assert len(succeeded) == 2
    assert at_stripe == fresh.refunded_minor == 2000
    assert fresh.lines[0].refunded_minor == 2000
    check_invariants(emulator)


def test_the_webhook_of_our_reversal_in_flight_is_not_taken_for_an_outside_one(
    app, client, emulator
):
    from payouts import payout_run
    from payouts.models import PayoutItem, TransferReversal

    order = sale_ready_to_pay(client, emulator)
    pay_out()
    login(client, order.shop.owner)
    emulator.fail_next("/v1/transfers/", count=3, kind="disconnect", when="after")
    # The refund takes the seller's share back from her transfer; the reversal's answer is
    # lost, and transfer.reversed arrives while ours still waits.
    client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{order.lines[0].id}": "10.00"}
    )
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    emulator.faults.clear()
    with unit_of_work():
        payout_run.reverse_pending()
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    reversal = db.session.scalar(select(TransferReversal))
    item = db.session.scalar(select(PayoutItem))
    assert reversal.status == "succeeded"
    assert item.reversed_minor == reversal.amount_minor
    assert emulator.get(item.stripe_transfer_id)["amount_reversed"] == reversal.amount_minor
    check_invariants(emulator)


def test_an_admin_sees_a_held_refund_and_books_it_from_the_page(app, client, emulator, gateway):
    bowl, jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl, jacket)
    first, second = orders_of(checkout)
    gateway.refund(
        payment_intent=checkout.stripe_payment_intent_id, amount=1200, idempotency_key="dash-2"
    )
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    held = db.session.scalar(select(HeldRefund))
    admin = UserFactory(is_admin=True)
    login(client, admin)
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "Refunds made outside Kindred" in page and held.stripe_refund_id in page
    assert first.reference in page and second.reference in page
    # A made-up order, or one the payment did not pay for, is refused with a message.
    refused = client.post_form(
        f"/admin/payouts/held-refunds/{held.id}/book", {"order_id": "99999999999"}
    )
    assert refused.status_code == 302
    assert db.session.get(HeldRefund, held.id).status == HeldRefundStatus.HELD
    booked = client.post_form(
        f"/admin/payouts/held-refunds/{held.id}/book", {"order_id": str(second.id)}
    )
    assert booked.status_code == 302
    db.session.commit()
    assert db.session.get(Order, second.id).refunded_minor == 1200
    assert db.session.get(Order, first.id).refunded_minor == 0
    assert db.session.get(HeldRefund, held.id).status == HeldRefundStatus.BOOKED
    # Booking again (a second tab) changes nothing.
    client.post_form(f"/admin/payouts/held-refunds/{held.id}/book", {"order_id": str(first.id)})
    db.session.commit()
    assert db.session.get(Order, first.id).refunded_minor == 0
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "every refund Stripe made was asked for by Kindred" in page
    check_invariants(emulator)


class TestPastTheKeyLifetime(WebhooksHeldBack):
    """Stripe forgets an idempotency key after 24 hours: a retry after that looks first."""

    def test_a_refund_retried_a_day_later_is_found_not_made_again(self, app, client, emulator):
        import time_machine

        from app.models import utcnow

        bowl, _jacket = two_shops()
        checkout = buy(client, UserFactory(), bowl)
        db.session.commit()
        deliver_webhooks()
        (order,) = orders_of(checkout)
        login(client, order.shop.owner)
        _lose_refund_answers(emulator)
        client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": "broken"})
        emulator.faults.clear()
        assert len(emulator.objects("refund")) == 1
        # Nothing ran for a day (the webhook too is still on its way).
        emulator.advance(25 * 3600)
        with time_machine.travel(utcnow() + timedelta(hours=25), tick=False), unit_of_work():
            assert commerce.retry_refunds() == 1
        db.session.commit()
        assert len(emulator.objects("refund")) == 1
        refund = db.session.scalar(select(Refund))
        assert refund.status == RefundStatus.SUCCEEDED
        assert refund.stripe_refund_id == emulator.objects("refund")[0]["id"]
        db.session.commit()
        deliver_webhooks()
        db.session.commit()
        check_invariants(emulator)

    def test_a_reversal_retried_a_day_later_is_found_not_made_again(self, app, client, emulator):
        import time_machine

        from app.models import utcnow
        from payouts import payout_run
        from payouts.models import PayoutItem, TransferReversal

        order = sale_ready_to_pay(client, emulator)
        pay_out()
        login(client, order.shop.owner)
        # The refund's reversal is made at Stripe, its answer lost (its webhook waits).
        emulator.fail_next("/v1/transfers/", count=3, kind="disconnect", when="after")
        client.post_form(
            f"/account/shop/orders/{order.id}/refund", {f"line-{order.lines[0].id}": "10.00"}
        )
        emulator.faults.clear()
        db.session.commit()
        assert db.session.scalar(select(TransferReversal)).status == "pending"
        emulator.advance(25 * 3600)
        with time_machine.travel(utcnow() + timedelta(hours=25), tick=False), unit_of_work():
            assert payout_run.reverse_pending() == 1
        db.session.commit()
        item = db.session.scalar(select(PayoutItem))
        reversal = db.session.scalar(select(TransferReversal))
        transfer = emulator.get(item.stripe_transfer_id)
        assert transfer["amount_reversed"] == reversal.amount_minor == item.reversed_minor
        db.session.commit()
        deliver_webhooks()
        db.session.commit()
        check_invariants(emulator)


def test_a_held_refund_can_be_booked_again_on_an_order_where_room_came_back(
    app, client, emulator, gateway
):
    from payouts import held_refunds

    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    (order,) = orders_of(checkout)
    login(client, order.shop.owner)
    # A refund of 25.00 is recorded but Stripe does not answer: it counts as spent.
    emulator.fail_next("/v1/refunds", count=3, kind="error", when="before")
    client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{order.lines[0].id}": "25.00"}
    )
    emulator.faults.clear()
    gateway.refund(
        payment_intent=checkout.stripe_payment_intent_id, amount=1000, idempotency_key="dash-3"
    )
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    held = db.session.scalar(select(HeldRefund))
    admin = UserFactory(is_admin=True)
    with unit_of_work():
        assert held_refunds.book(admin, held.id, order.id) == 500  # the shipping is all left
    # Stripe refuses the pending refund (the charge has only 20.00 left): its room comes back.
    with unit_of_work():
        commerce.retry_refunds(older_than_seconds=0)
    db.session.commit()
    assert (
        db.session.scalar(select(Refund.status).where(Refund.public_id.startswith("rf_")))
        == RefundStatus.FAILED
    )
    with unit_of_work():
        assert held_refunds.book(admin, held.id, order.id) == 500
    held = db.session.get(HeldRefund, held.id)
    assert held.left_minor == 0 and held.status == HeldRefundStatus.BOOKED
    assert db.session.get(Order, order.id).refunded_minor == 1000
    check_invariants(emulator)
