"""Helpers for money tests: onboard payees, advance time, check every invariant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.uow import unit_of_work
from payouts import ledger, payees, payout_run, reconcile
from payouts.earnings import release_due
from payouts.models import Earning, Payee, PayoutItem, PayoutItemStatus


def onboard(user: Any, emulator: Any) -> Payee:
    with unit_of_work():
        payee = payees.for_user(user.id)
        payee_id = payee.id
    with unit_of_work():
        payees.start_onboarding(
            user, return_url="http://kindred.test/ok", refresh_url="http://kindred.test/r"
        )
    payee = db.session.get(Payee, payee_id)
    emulator.complete_onboarding(payee.stripe_account_id)
    with unit_of_work():
        payees.refresh_status(db.session.get(Payee, payee_id))
    db.session.commit()
    return db.session.get(Payee, payee_id)


def release_after_hold(days: int = 8) -> int:
    with time_machine.travel(utcnow() + timedelta(days=days), tick=False), unit_of_work():
        return release_due()


def pay_out() -> payout_run.RunResult:
    with unit_of_work():
        result = payout_run.run()
    with unit_of_work():
        payout_run.reverse_pending()
    db.session.commit()
    return result


def check_invariants(emulator: Any) -> None:
    """The ledger balances, matches Stripe, and no payee is paid beyond their earnings."""
    db.session.commit()
    assert ledger.trial_balance() == 0
    assert ledger.unbalanced_entries() == []
    with unit_of_work(write=False):
        report = reconcile.run()
    assert report.ok, report.differences
    for payee in db.session.scalars(select(Payee)):
        paid = sum(
            i.amount_minor - i.reversed_minor
            for i in db.session.scalars(
                select(PayoutItem).where(
                    PayoutItem.payee_id == payee.id, PayoutItem.status == PayoutItemStatus.PAID
                )
            )
        )
        earned = sum(
            e.net_minor
            for e in db.session.scalars(select(Earning).where(Earning.payee_id == payee.id))
        )
        assert paid <= max(earned, 0) or paid <= sum(
            e.amount_minor
            for e in db.session.scalars(select(Earning).where(Earning.payee_id == payee.id))
        )
        if payee.stripe_account_id:
            # A transfer whose answer was lost is in flight: its item is still pending here,
            # and the next payout run records it (reconcile counts it beside the balance).
            pending = {
                str(i.id): i.amount_minor
                for i in db.session.scalars(
                    select(PayoutItem).where(
                        PayoutItem.payee_id == payee.id,
                        PayoutItem.status.in_(
                            (PayoutItemStatus.PENDING, PayoutItemStatus.SUBMITTING)
                        ),
                    )
                )
            }
            transfers = [
                t
                for t in emulator.objects("transfer")
                if t["destination"] == payee.stripe_account_id
            ]
            in_flight = [
                t for t in transfers if (t.get("metadata") or {}).get("payout_item") in pending
            ]
            assert all(t["amount"] == pending[t["metadata"]["payout_item"]] for t in in_flight)
            at_stripe = sum(
                t["amount"] - t["amount_reversed"] for t in transfers if t not in in_flight
            )
            assert at_stripe == paid
    transfer_ids = [t["id"] for t in emulator.objects("transfer")]
    assert len(transfer_ids) == len(set(transfer_ids))
