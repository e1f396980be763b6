"""Reconciliation: the ledger against what Stripe says.

Checks that the ledger balances; that its Stripe balance equals the platform's balance at
Stripe (available plus pending); that every paid payout item has its transfer at Stripe with
the same amount, destination and reversed amount; and that Stripe holds no transfer we do not
know. Each difference is reported; any difference makes `flask payouts reconcile` fail.

A transfer Stripe made for a payout item still pending or claimed here (the answer was lost:
a timeout, a dropped connection, a run that died before recording it) is in flight, not a
difference: the next payout run replays the item's key (or, a day later, finds the transfer),
and posts it. Until then it is counted beside the balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app import uow
from app.extensions import db
from payouts import ledger
from payouts.gateway import GatewayError
from payouts.models import Payee, PayoutItem, PayoutItemStatus
from payouts.runtime import gateway


@dataclass
class Report:
    ledger_stripe_balance: int = 0
    stripe_balance: int | None = None
    transfers_checked: int = 0
    # Made at Stripe for items still pending here; the next payout run records them.
    in_flight_minor: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def run() -> Report:
    report = Report()
    unbalanced = ledger.unbalanced_entries()
    if unbalanced:
        report.differences.append(f"journal entries that do not balance: {unbalanced[:20]}")
    report.ledger_stripe_balance = ledger.balance(ledger.STRIPE_BALANCE)
    items = db.session.execute(
        select(PayoutItem, Payee.stripe_account_id)
        .join(Payee, Payee.id == PayoutItem.payee_id)
        .where(PayoutItem.status == PayoutItemStatus.PAID)
    ).all()
    ours = {item.stripe_transfer_id: (item, account) for item, account in items}
    pending = {
        str(item.id): item
        for item in db.session.scalars(
            select(PayoutItem).where(
                PayoutItem.status.in_((PayoutItemStatus.PENDING, PayoutItemStatus.SUBMITTING))
            )
        )
    }
    uow.checkpoint()  # no transaction held across the calls to Stripe
    try:
        balance = gateway().balance()
        report.stripe_balance = sum(b.amount for b in balance.available) + sum(
            b.amount for b in balance.pending
        )
        seen: set[str] = set()
        for transfer in gateway().iter_transfers():
            seen.add(transfer.id)
            report.transfers_checked += 1
            known = ours.get(transfer.id)
            metadata = transfer.metadata.to_dict() if transfer.metadata else {}
            waiting = pending.get(str(metadata.get("payout_item", "")))
            if known is None and waiting is not None and transfer.amount == waiting.amount_minor:
                report.in_flight_minor += transfer.amount
                continue
            if known is None:
                report.differences.append(f"transfer {transfer.id} at Stripe is not in the ledger")
                continue
            item, account = known
            if transfer.amount != item.amount_minor:
                report.differences.append(
                    f"transfer {transfer.id}: {transfer.amount} at Stripe, {item.amount_minor} here"
                )
            if transfer.destination != account:
                report.differences.append(
                    f"transfer {transfer.id} goes to {transfer.destination}, not {account}"
                )
            if transfer.amount_reversed != item.reversed_minor:
                report.differences.append(
                    f"transfer {transfer.id}: reversed {transfer.amount_reversed} at Stripe, "
                    f"{item.reversed_minor} here"
                )
        for transfer_id in set(ours) - seen:
            report.differences.append(
                f"payout item with transfer {transfer_id} has no transfer at Stripe"
            )
    except GatewayError as error:
        report.differences.append(f"could not read Stripe: {error.message}")
        return report
    at_stripe = report.stripe_balance + report.in_flight_minor
    if at_stripe != report.ledger_stripe_balance:
        report.differences.append(
            f"Stripe balance {report.stripe_balance} (+{report.in_flight_minor} in flight) != "
            f"ledger {report.ledger_stripe_balance} "
            f"(difference {at_stripe - report.ledger_stripe_balance})"
        )
    return report
