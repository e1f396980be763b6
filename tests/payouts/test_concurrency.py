"""On PostgreSQL, with real concurrency: payouts and webhooks apply once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.extensions import db
from app.uow import unit_of_work
from payouts import payout_run, webhooks
from payouts.models import Earning, EarningState, PayoutItem, StripeEvent
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops
from tests.payouts.money import check_invariants, onboard, release_after_hold
from tests.payouts.test_money_flow import deliver

pytestmark = pytest.mark.usefixtures("postgres_only")


def test_two_payout_runs_at_once_pay_each_item_once(app, client, emulator):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    checkouts = [buy(client, buyer, bowl, jacket) for _ in range(3)]
    for checkout in checkouts:
        for order in orders_of(checkout):
            deliver(client, order, buyer)
    release_after_hold()
    for owner in {o.shop.owner for c in checkouts for o in orders_of(c)}:
        onboard(owner, emulator)
    at_once(app, [payout_run.run, payout_run.run])
    items = db.session.scalars(select(PayoutItem).where(PayoutItem.status == "paid")).all()
    # One transfer per payee per charge, each made once (the jacket sold once, the bowl thrice).
    pairs = {(e.payee_id, e.source_charge_id) for e in db.session.scalars(select(Earning))}
    assert len(pairs) == 4
    assert len(items) == 4 and {(i.payee_id, i.source_charge_id) for i in items} == pairs
    assert len(emulator.objects("transfer")) == 4
    assert all(e.state == EarningState.PAID for e in db.session.scalars(select(Earning)))
    check_invariants(emulator)


def test_a_webhook_three_times_and_out_of_order_is_applied_once(app, client, emulator):
    app.config["STRIPE_EMULATOR_AUTO_DELIVER"] = False
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    db.session.commit()
    events = {e.type: e.payload for e in db.session.scalars(select(StripeEvent))}
    completed = events["checkout.session.completed"]
    # The events arrive again, reversed, three times each, from three threads at once.
    payloads = [p for p in reversed(list(events.values()))] * 3

    def delivering(chunk: list[dict]) -> Callable[[], None]:
        def deliver_all() -> None:
            for payload in chunk:
                with unit_of_work():
                    stored = webhooks.store_event(payload)
                    event_id = stored.id if stored else None
                if event_id:
                    with unit_of_work():
                        webhooks.process_event(event_id)
                with unit_of_work():
                    webhooks.process_event(payload["id"])

        return deliver_all

    size = len(payloads) // 3
    chunks = [payloads[i * size : (i + 1) * size] for i in range(3)]
    at_once(app, [delivering(chunk) for chunk in chunks], in_unit_of_work=False)
    db.session.commit()
    assert len(orders_of(checkout)) == 1
    assert (
        db.session.scalar(select(StripeEvent).where(StripeEvent.id == completed["id"])).attempts
        == 1
    )
    from payouts import ledger

    assert ledger.trial_balance() == 0
    check_invariants(emulator)
