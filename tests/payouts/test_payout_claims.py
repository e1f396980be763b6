"""A payout item stays claimed across its Stripe call: two runs never send it twice, a run
reports only what it did, and past Stripe's 24 hours a retry looks before it sends."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.uow import unit_of_work
from marketplace.order_models import Order
from payouts import payout_run
from payouts.models import PayoutItem, PayoutItemStatus
from payouts.runtime import deliver_webhooks, gateway
from tests.factories import UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops
from tests.payouts.money import check_invariants, onboard, pay_out, release_after_hold
from tests.payouts.test_money_flow import deliver


def sale_ready_to_pay(client: Any, emulator: Any) -> Order:
    """One delivered sale past its hold, its seller onboarded: the next run pays her."""
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl)
    db.session.commit()
    deliver_webhooks()  # where the test holds webhooks back, the order is made now
    (order,) = orders_of(checkout)
    deliver(client, order, buyer)
    release_after_hold()
    onboard(order.shop.owner, emulator)
    return order


def test_a_second_run_during_the_first_ones_stripe_call_sends_nothing(
    app, client, emulator, monkeypatch
):
    sale_ready_to_pay(client, emulator)
    real_create = gateway(app).create_transfer
    second: dict[str, payout_run.RunResult] = {}

    def second_run() -> None:
        with app.app_context(), unit_of_work():
            second["result"] = payout_run.run()

    def create_while_another_run_starts(**kwargs: Any) -> Any:
        # While the first run waits for Stripe, a second run (another worker) goes through.
        if "result" not in second:
            thread = threading.Thread(target=second_run)
            thread.start()
            thread.join()
        return real_create(**kwargs)

    monkeypatch.setattr(gateway(app), "create_transfer", create_while_another_run_starts)
    first = pay_out()
    assert second["result"].paid == 0 and second["result"].amount_paid_minor == 0
    assert first.paid == 1
    assert len(emulator.objects("transfer")) == 1
    check_invariants(emulator)


def test_a_claim_holds_until_its_lease_ends_then_another_run_finishes_it(app, client, emulator):
    sale_ready_to_pay(client, emulator)
    with unit_of_work():
        run = payout_run.PayoutRun()
        db.session.add(run)
        db.session.flush()
        payout_run.plan(run)
        item = db.session.scalar(select(PayoutItem))
        # A run claimed it and died before calling Stripe (or before its answer came).
        item.status = PayoutItemStatus.SUBMITTING
        item.claimed_until = utcnow() + timedelta(minutes=5)
    assert pay_out().paid == 0
    assert emulator.objects("transfer") == []
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=False):
        assert pay_out().paid == 1
    assert db.session.scalar(select(PayoutItem)).status == PayoutItemStatus.PAID
    assert len(emulator.objects("transfer")) == 1
    check_invariants(emulator)


def test_past_the_key_lifetime_a_retry_finds_the_first_transfer_instead_of_paying_again(
    app, client, emulator
):
    sale_ready_to_pay(client, emulator)
    # Stripe makes the transfer, every answer is lost: the item waits for the next run.
    emulator.fail_next("/v1/transfers", count=3, kind="disconnect", when="after")
    assert pay_out().pending == 1
    emulator.faults.clear()
    # The next run comes more than a day later: Stripe has forgotten the key.
    later = utcnow() + timedelta(hours=25)
    emulator.advance(25 * 3600)
    with time_machine.travel(later, tick=False):
        result = pay_out()
    assert result.paid == 1
    transfers = emulator.objects("transfer")
    assert len(transfers) == 1
    item = db.session.scalar(select(PayoutItem))
    assert item.stripe_transfer_id == transfers[0]["id"]
    check_invariants(emulator)


def test_a_transfer_made_by_a_run_that_died_before_recording_it_is_in_flight(
    app, client, emulator, monkeypatch
):
    from payouts import reconcile

    sale_ready_to_pay(client, emulator)

    def die_after_stripe(*_args: Any, **_kwargs: Any) -> bool:
        raise SystemExit("the worker is killed after Stripe answered")

    monkeypatch.setattr(payout_run, "_record", die_after_stripe)
    with pytest.raises(SystemExit):
        pay_out()
    monkeypatch.undo()
    db.session.rollback()
    item = db.session.scalar(select(PayoutItem))
    assert item.status == PayoutItemStatus.SUBMITTING
    assert len(emulator.objects("transfer")) == 1
    # Not a difference while the claim stands: the transfer is in flight.
    with unit_of_work(write=False):
        report = reconcile.run()
    assert report.ok, report.differences
    assert report.in_flight_minor == item.amount_minor
    check_invariants(emulator)
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=False):
        assert pay_out().paid == 1
    assert len(emulator.objects("transfer")) == 1
    check_invariants(emulator)


def _dispute(emulator: Any) -> str:
    from marketplace.order_models import Checkout

    charge_id = db.session.scalar(select(Checkout.stripe_charge_id))
    db.session.commit()
    dispute = emulator.create_dispute(charge_id)
    db.session.commit()
    deliver_webhooks()
    db.session.commit()
    return str(dispute["id"])


def test_an_item_whose_earnings_froze_before_its_turn_is_held_back(app, client, emulator):
    sale_ready_to_pay(client, emulator)
    # The run plans the item, then Stripe does not answer (nothing made); a dispute comes.
    emulator.fail_next("/v1/transfers", count=3, kind="error", when="before")
    assert pay_out().pending == 1
    item = db.session.scalar(select(PayoutItem))
    item_id = item.id
    db.session.commit()
    _dispute(emulator)
    result = pay_out()
    assert (result.paid, result.held_back) == (0, 1)
    assert emulator.objects("transfer") == []
    assert db.session.get(PayoutItem, item_id).status == PayoutItemStatus.HELD_BACK
    check_invariants(emulator)


def test_an_item_perhaps_sent_before_its_earnings_froze_is_looked_for_not_sent_again(
    app, client, emulator
):
    sale_ready_to_pay(client, emulator)
    # Stripe made the transfer, its answer was lost; then the charge is disputed.
    emulator.fail_next("/v1/transfers", count=3, kind="disconnect", when="after")
    assert pay_out().pending == 1
    emulator.faults.clear()
    _dispute(emulator)
    result = pay_out()
    assert result.paid == 1  # the transfer it had made is recorded, nothing new is sent
    assert len(emulator.objects("transfer")) == 1
    check_invariants(emulator)


def _payees_paid_from_one_charge(app: Any, emulator: Any, count: int) -> None:
    """`count` onboarded payees, each with one available earning of 10.00 from one charge."""
    from sqlalchemy import insert

    from app.accounts.models import User
    from payouts import ledger
    from payouts.models import Earning, EarningState, Payee, PayeeStatus

    client = gateway(app).client
    intent = client.v1.payment_intents.create(
        {
            "amount": 1_000 * count + 1_000,
            "currency": "eur",
            "confirm": True,
            "payment_method": "pm_card_bypassPending",
        }
    )
    charge = str(intent.latest_charge)
    for n in range(count):
        account = client.v1.accounts.create(
            {"type": "express", "country": "FR", "capabilities": {"transfers": {"requested": True}}}
        )
        emulator.complete_onboarding(account.id)
        user = db.session.scalar(
            insert(User)
            .returning(User.id)
            .values(
                email=f"lease{n}@claims.test",
                handle=f"lease{n}",
                password_hash="x",
                display_name="",
                bio="",
                session_nonce="n",
                is_admin=False,
            )
        )
        payee = db.session.scalar(
            insert(Payee)
            .returning(Payee.id)
            .values(
                user_id=user,
                stripe_account_id=account.id,
                status=PayeeStatus.ENABLED,
                requirements=[],
            )
        )
        db.session.execute(
            insert(Earning).values(
                payee_id=payee,
                role="seller",
                currency="eur",
                amount_minor=1_000,
                state=EarningState.AVAILABLE,
                source_charge_id=charge,
            )
        )
        ledger.post(
            f"lease-funding-{payee}",
            "test",
            [
                ledger.debit(ledger.STRIPE_BALANCE, 1_000),
                ledger.credit(ledger.available(f"payee-{payee}"), 1_000),
            ],
        )
    db.session.commit()


def test_items_whose_turn_comes_past_half_their_lease_go_back_and_are_sent_later(
    app, emulator, monkeypatch
):
    """A batch's items are claimed together; one whose turn comes when half the lease is
    spent (Stripe slow, or rate limited) is let go unsent, as it was, and goes in a later
    batch of the same run, under a claim of its own."""
    _payees_paid_from_one_charge(app, emulator, 3)
    start = utcnow()
    elapsed = [timedelta(0)]
    monkeypatch.setattr(payout_run, "utcnow", lambda: start + elapsed[0])
    real_create = gateway(app).create_transfer
    claims_seen: list[tuple[int, str]] = []

    def slow_create(**kwargs: Any) -> Any:
        with db.engine.connect() as connection:
            item = connection.execute(
                select(PayoutItem.id, PayoutItem.status).where(
                    PayoutItem.id == int(kwargs["metadata"]["payout_item"])
                )
            ).one()
        claims_seen.append((item.id, item.status))
        elapsed[0] += timedelta(minutes=6)  # more than half the lease per transfer
        return real_create(**kwargs)

    monkeypatch.setattr(gateway(app), "create_transfer", slow_create)
    real_claim = payout_run._claim
    claimed: list[list[int]] = []

    def claim(item_ids: list[int], now: Any) -> Any:
        claimed.append(sorted(item_ids))
        return real_claim(item_ids, now)

    monkeypatch.setattr(payout_run, "_claim", claim)
    result = pay_out()
    assert (result.created, result.paid, result.pending) == (3, 3, 0)
    items = db.session.scalars(select(PayoutItem).order_by(PayoutItem.id)).all()
    ids = [i.id for i in items]
    # Claimed three times: all three, then the two left, then the last.
    assert claimed == [ids, ids[1:], ids[2:]]
    # Each was claimed when its transfer went, in order.
    assert claims_seen == [(item_id, PayoutItemStatus.SUBMITTING) for item_id in ids]
    # Let go unsent, an item was as before its claim: one attempt each in the end.
    assert [(i.status, i.attempts) for i in items] == [(PayoutItemStatus.PAID, 1)] * 3
    assert len(emulator.objects("transfer")) == 3


def test_a_batch_survives_an_item_whose_recording_fails(app, emulator, monkeypatch):
    from app.batches import BatchFailure
    from payouts import ledger

    _payees_paid_from_one_charge(app, emulator, 3)
    real_post_many = ledger.post_many
    broken: list[str] = []

    def post_many(postings: Any) -> Any:
        postings = list(postings)
        for posting in postings:
            if not broken or broken[0] == posting.key:
                broken[:] = [posting.key]
                raise RuntimeError("the ledger is down for this one")
        return real_post_many(postings)

    monkeypatch.setattr(ledger, "post_many", post_many)
    result = pay_out()
    # The batch's record failed, then each went alone: one raised again, two were paid.
    assert (result.paid, result.errors) == (2, 1)
    bad = db.session.scalar(
        select(PayoutItem).where(PayoutItem.idempotency_key == broken[0].removeprefix("payout:"))
    )
    assert bad.status == PayoutItemStatus.SUBMITTING  # made at Stripe, not yet recorded
    failure = db.session.scalar(select(BatchFailure))
    assert failure.subject == f"payout item {bad.id}" and "ledger is down" in failure.error
    assert len(emulator.objects("transfer")) == 3
    monkeypatch.setattr(ledger, "post_many", real_post_many)
    # Its claim holds until the lease ends; then a run replays its key and records it.
    assert pay_out().paid == 0
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=False):
        assert pay_out().paid == 1
    assert len(emulator.objects("transfer")) == 3
    assert db.session.scalar(select(BatchFailure)) is None


def test_a_batch_whose_claim_fails_goes_item_by_item(app, emulator, monkeypatch):
    _payees_paid_from_one_charge(app, emulator, 2)
    real_frozen = payout_run._frozen_items
    calls = [0]

    def frozen_once(item_ids: list[int]) -> set[int]:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("the database hiccuped")
        return real_frozen(item_ids)

    monkeypatch.setattr(payout_run, "_frozen_items", frozen_once)
    result = pay_out()
    assert (result.paid, result.errors) == (2, 0)
    assert calls[0] == 3  # the batch's claim, then one claim per item
    assert len(emulator.objects("transfer")) == 2
