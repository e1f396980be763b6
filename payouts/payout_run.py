"""Payout runs: available earnings become Stripe transfers, one per payee per source charge.

A run first records its items (each with an idempotency key derived from the item) and
commits; then it creates the transfers, each with `source_transaction` set to its charge and
the checkout as `transfer_group`; then it records each result and posts it to the ledger.

An item is claimed (`submitting`, with a lease) and the claim committed before Stripe is
called, so two runs at once never send the same item. A crash or a timeout leaves the claim
to lapse (or the item pending), and a later run finishes it with the same key, so Stripe
replays the first answer; past the key's 24 hours at Stripe, the run first looks for the
transfer the earlier attempt made. Nothing is paid twice, nothing is lost. A definitive
refusal puts the item's earnings back to available and says why. A run reports only the
transitions it made itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, insert, literal, or_, select, update

from app import batches, uow
from app.database import for_update
from app.extensions import db
from app.models import utcnow
from marketplace.order_models import Checkout
from payouts import ledger
from payouts.gateway import GatewayRejected, GatewayUnavailable
from payouts.ledger import credit, debit
from payouts.models import (
    Earning,
    EarningState,
    Payee,
    PayeeStatus,
    PayoutItem,
    PayoutItemStatus,
    PayoutRun,
    TransferReversal,
)
from payouts.runtime import gateway
from payouts.settings import current as current_settings

# How long a run's claim on an item lasts across its Stripe call (the SDK's retries included).
CLAIM_LEASE = timedelta(minutes=10)
# Stripe keeps an idempotency key for 24 hours; an hour's margin for clocks and slow runs.
KEY_LIFETIME = timedelta(hours=23)


def _lock(query: Any) -> Any:
    # Two runs at once never take the same rows: each skips what the other holds.
    return for_update(query, skip_locked=True)


@dataclass
class RunResult:
    run_id: int
    created: int = 0
    paid: int = 0
    failed: int = 0
    pending: int = 0
    # Items not sent because an earning froze since they were planned.
    held_back: int = 0
    # Items that raised: rolled back, recorded for the admins, the run went on.
    errors: int = 0
    amount_paid_minor: int = 0


# Codes or charge ids per IN list: far under what SQLite (32,766) and PostgreSQL (65,535) take
# as parameters of one statement, so a run for any number of payees can be planned.
IN_LIST_MAX = 10_000


@dataclass(frozen=True)
class _Payable:
    """An earning that may be paid, as planning reads it (no ORM object per row)."""

    id: int
    payee_id: int
    charge_id: str
    currency: str
    net_minor: int


def plan(run: PayoutRun) -> int:
    """Group every payable earning into payout items; returns how many items were made.

    Set-based: the payable earnings of every enabled payee in one statement (locked, so two
    runs at once never plan the same earning), their payees' available balances in another,
    the charges' transfer groups in a third, then the items and their earnings written in
    bulk. The same few statements for ten payees or ten thousand.
    """
    min_payout = current_settings().min_payout_minor
    enabled = select(Payee.id).where(
        Payee.status == PayeeStatus.ENABLED, Payee.stripe_account_id.is_not(None)
    )
    rows = db.session.execute(
        _lock(
            select(
                Earning.id,
                Earning.payee_id,
                Earning.source_charge_id,
                Earning.currency,
                Earning.amount_minor - Earning.refunded_minor - Earning.transferred_minor,
            )
            .where(
                Earning.payee_id.in_(enabled),
                Earning.state == EarningState.AVAILABLE,
                Earning.payout_item_id.is_(None),
                Earning.frozen.is_(False),
                Earning.source_charge_id.is_not(None),
            )
            .order_by(Earning.payee_id, Earning.id)
        )
    ).all()
    by_payee: dict[int, list[_Payable]] = defaultdict(list)
    for earning_id, payee_id, charge_id, currency, net in rows:
        if net > 0:
            by_payee[payee_id].append(_Payable(earning_id, payee_id, charge_id, currency, net))
    if not by_payee:
        return 0
    # A reversal that could not be recovered leaves the balance below the earnings: later
    # earnings net it off, so never pay more than the ledger's available balance.
    budgets = _available_balances(list(by_payee))
    planned: list[tuple[str, list[_Payable]]] = []
    for payee_id, payable in by_payee.items():
        budget = budgets[payee_id]
        total = sum(e.net_minor for e in payable)
        if min(budget, total) < min_payout:
            continue
        by_charge: dict[str, list[_Payable]] = defaultdict(list)
        for earning in payable:
            by_charge[earning.charge_id].append(earning)
        for charge_id, group in by_charge.items():
            chosen: list[_Payable] = []
            amount = 0
            for earning in group:
                if amount + earning.net_minor <= budget:
                    chosen.append(earning)
                    amount += earning.net_minor
            if amount <= 0:
                continue
            budget -= amount
            planned.append((charge_id, chosen))
    if not planned:
        return 0
    groups = _transfer_groups({charge_id for charge_id, _ in planned})
    # Each item's key is made from its id, known once it is written: it is written with a key
    # of its place in this run first (unique, as keys must be), then given its own.
    items = db.metadata.tables[PayoutItem.__tablename__]
    # A Core insert with RETURNING, in as few statements as the database takes rows: the ORM's
    # bulk insert splits the rows by which columns are None, and asking for the rows back in
    # order makes SQLite insert them one by one; the temporary key says which row is which.
    written = db.session.execute(
        insert(items).returning(items.c.idempotency_key, items.c.id),
        [
            {
                "run_id": run.id,
                "payee_id": chosen[0].payee_id,
                "source_charge_id": charge_id,
                "transfer_group": groups.get(charge_id),
                "currency": chosen[0].currency,
                "amount_minor": sum(e.net_minor for e in chosen),
                "idempotency_key": f"planned:{run.id}:{n}",
            }
            for n, (charge_id, chosen) in enumerate(planned)
        ],
    ).all()
    by_key: dict[str, int] = {key: item_id for key, item_id in written}
    item_ids = [by_key[f"planned:{run.id}:{n}"] for n in range(len(planned))]
    db.session.execute(
        update(PayoutItem)
        .where(PayoutItem.run_id == run.id)
        .values(idempotency_key=literal("payout-item-") + cast(PayoutItem.id, String))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Earning),
        [
            {"id": earning.id, "payout_item_id": item_id}
            for item_id, (_charge_id, chosen) in zip(item_ids, planned, strict=True)
            for earning in chosen
        ],
    )
    return len(item_ids)


def _available_balances(payee_ids: list[int]) -> dict[int, int]:
    """Each payee's available balance in the ledger (one grouped sum per IN_LIST_MAX payees)."""
    found: dict[int, int] = {}
    for start in range(0, len(payee_ids), IN_LIST_MAX):
        chunk = payee_ids[start : start + IN_LIST_MAX]
        codes = {ledger.available(f"payee-{payee_id}"): payee_id for payee_id in chunk}
        for code, balance in ledger.balances(codes).items():
            found[codes[code]] = balance
    return found


def _transfer_groups(charge_ids: set[str]) -> dict[str, str]:
    """The checkout (its public id: the transfer group) each charge paid."""
    ordered = sorted(charge_ids)
    groups: dict[str, str] = {}
    for start in range(0, len(ordered), IN_LIST_MAX):
        rows = db.session.execute(
            select(Checkout.stripe_charge_id, Checkout.public_id)
            .where(Checkout.stripe_charge_id.in_(ordered[start : start + IN_LIST_MAX]))
            .order_by(Checkout.id)
        )
        for charge_id, public_id in rows:
            groups.setdefault(str(charge_id), public_id)
    return groups


def _claimable(now: datetime) -> Any:
    """Items a run may send: pending ones, and claims whose run let the lease lapse (it died
    between its commit and Stripe's answer)."""
    return or_(
        PayoutItem.status == PayoutItemStatus.PENDING,
        and_(
            PayoutItem.status == PayoutItemStatus.SUBMITTING,
            PayoutItem.claimed_until <= now,
        ),
    )


def submit(item_id: int) -> str:
    """Claim one item, create (or replay, or find) its transfer, and record the outcome.

    The claim (`submitting` with a lease) is committed before Stripe is called and outlives
    the row lock, so a second run at the same moment skips the item instead of sending it
    again. The outcome names only a transition this call made itself.
    """
    now = utcnow()
    item = db.session.scalar(
        _lock(select(PayoutItem).where(PayoutItem.id == item_id, _claimable(now)))
    )
    if item is None:
        return "skipped"
    payee = db.session.get(Payee, item.payee_id)
    assert payee is not None and payee.stripe_account_id
    # An earning may have frozen since the item was planned (a dispute, a held refund): what
    # was never sent is held back; what may have been sent is looked for, never sent again.
    frozen = _has_frozen_earnings(item.id)
    if frozen and item.first_sent_at is None:
        _hold_back(item)
        return "held back"
    amount, currency, destination = item.amount_minor, item.currency, payee.stripe_account_id
    source, group, key = item.source_charge_id, item.transfer_group, item.idempotency_key
    metadata = {"payout_item": str(item.id), "payee": str(payee.id)}
    # Stripe forgets a key after 24 hours: then the first attempt's transfer is looked for
    # before anything is sent again.
    look_first = frozen or (
        item.first_sent_at is not None and item.first_sent_at <= now - KEY_LIFETIME
    )
    item.status = PayoutItemStatus.SUBMITTING
    item.claimed_until = now + CLAIM_LEASE
    item.first_sent_at = item.first_sent_at or now
    item.attempts += 1
    uow.checkpoint()  # the claim is on record before Stripe is called
    try:
        transfer = (
            gateway().find_transfer(
                destination=destination,
                transfer_group=group,
                metadata={"payout_item": metadata["payout_item"]},
            )
            if look_first
            else None
        )
        if transfer is None and frozen:
            _hold_back(_locked_item(item_id))
            return "held back"
        if transfer is None:
            transfer = gateway().create_transfer(
                amount=amount,
                currency=currency,
                destination=destination,
                source_transaction=source,
                transfer_group=group,
                idempotency_key=key,
                metadata=metadata,
            )
    except GatewayUnavailable:
        _unclaim(item_id)
        return "pending"  # the next run tries again with the same key
    except GatewayRejected as error:
        return "failed" if _fail(item_id, error.message) else "skipped"
    return "paid" if _paid(item_id, transfer.id) else "skipped"


def _has_frozen_earnings(item_id: int) -> bool:
    return (
        db.session.scalar(
            select(Earning.id).where(Earning.payout_item_id == item_id, Earning.frozen.is_(True))
        )
        is not None
    )


def _hold_back(item: PayoutItem) -> None:
    if item.status not in (PayoutItemStatus.PENDING, PayoutItemStatus.SUBMITTING):
        return
    item.status = PayoutItemStatus.HELD_BACK
    item.claimed_until = None
    item.completed_at = utcnow()
    for earning in db.session.scalars(select(Earning).where(Earning.payout_item_id == item.id)):
        earning.payout_item_id = None


def _locked_item(item_id: int) -> PayoutItem:
    item = db.session.scalar(
        for_update(select(PayoutItem).where(PayoutItem.id == item_id)).execution_options(
            populate_existing=True
        )
    )
    assert item is not None
    return item


def _unclaim(item_id: int) -> None:
    item = _locked_item(item_id)
    if item.status == PayoutItemStatus.SUBMITTING:
        item.status = PayoutItemStatus.PENDING
        item.claimed_until = None


def _paid(item_id: int, transfer_id: str) -> bool:
    """Record the transfer; False when another run recorded it first."""
    item = _locked_item(item_id)
    if item.status == PayoutItemStatus.PAID:
        return False
    key = f"payee-{item.payee_id}"
    ledger.post(
        f"payout:{item.idempotency_key}",
        "payout",
        [
            debit(ledger.available(key), item.amount_minor),
            credit(ledger.STRIPE_BALANCE, item.amount_minor),
        ],
        memo=f"transfer {transfer_id}",
        currency=item.currency,
    )
    item.status = PayoutItemStatus.PAID
    item.stripe_transfer_id = transfer_id
    item.claimed_until = None
    item.completed_at = utcnow()
    for earning in db.session.scalars(select(Earning).where(Earning.payout_item_id == item.id)):
        earning.state = EarningState.PAID
        earning.paid_at = item.completed_at
    return True


def _fail(item_id: int, message: str) -> bool:
    item = _locked_item(item_id)
    if item.status in (PayoutItemStatus.PAID, PayoutItemStatus.FAILED):
        return False
    item.status = PayoutItemStatus.FAILED
    item.failure_message = message
    item.claimed_until = None
    item.completed_at = utcnow()
    # Nothing was posted for it: its earnings simply go back to available for a later run.
    for earning in db.session.scalars(select(Earning).where(Earning.payout_item_id == item.id)):
        earning.payout_item_id = None
    return True


def run(progress: Callable[[str], None] | None = None) -> RunResult:
    """One payout run: plan, commit, then pay each pending item (this run's and older ones)."""
    say = progress or (lambda _message: None)
    payout_run = PayoutRun()
    db.session.add(payout_run)
    db.session.flush()
    result = RunResult(run_id=payout_run.id)
    result.created = plan(payout_run)
    say(f"{result.created} transfer(s) to make")
    uow.checkpoint()
    pending = list(
        db.session.scalars(
            select(PayoutItem.id).where(_claimable(utcnow())).order_by(PayoutItem.id)
        )
    )
    handled = 0

    def pay(item_id: int) -> str:
        nonlocal handled
        outcome = submit(item_id)
        if outcome == "paid":
            result.paid += 1
            item = db.session.get(PayoutItem, item_id)
            result.amount_paid_minor += item.amount_minor if item else 0
        elif outcome == "failed":
            result.failed += 1
        elif outcome == "pending":
            result.pending += 1
        elif outcome == "held back":
            result.held_back += 1
        handled += 1
        if handled % 100 == 0 or handled == len(pending):
            say(f"{handled}/{len(pending)} transfers handled")
        return outcome

    batch = batches.each("payouts.run", pending, pay, subject=lambda i: f"payout item {i}")
    result.errors = len(batch.failed)
    finished = db.session.get(PayoutRun, result.run_id)
    assert finished is not None
    finished.finished_at = utcnow()
    finished.items_created = result.created
    finished.items_paid = result.paid
    finished.items_failed = result.failed
    finished.amount_paid_minor = result.amount_paid_minor
    return result


# --- reversals ----------------------------------------------------------------------------------


def reverse_pending(limit: int = 200) -> int:
    """Take back refunded money from paid transfers; a refusal leaves the balance negative.
    One reversal that raises does not stop the others (it is recorded for the admins)."""
    ids = list(
        db.session.scalars(
            select(TransferReversal.id)
            .where(TransferReversal.status == "pending")
            .order_by(TransferReversal.id)
            .limit(limit)
        )
    )
    batch = batches.each(
        "payouts.reverse_transfers", ids, _reverse, subject=lambda i: f"reversal {i}"
    )
    return sum(batch.outcomes)


def _reverse(reversal_id: int) -> bool:
    reversal = db.session.scalar(
        _lock(select(TransferReversal).where(TransferReversal.id == reversal_id))
    )
    if reversal is None or reversal.status != "pending":
        return False
    item = db.session.get(PayoutItem, reversal.payout_item_id)
    assert item is not None and item.stripe_transfer_id
    transfer_id, amount, key = (
        item.stripe_transfer_id,
        reversal.amount_minor,
        reversal.idempotency_key,
    )
    look_first = reversal.created_at <= utcnow() - KEY_LIFETIME
    uow.checkpoint()
    try:
        metadata = {"reversal": str(reversal_id)}
        result = (
            gateway().find_reversal(transfer_id=transfer_id, metadata=metadata)
            if look_first
            else None
        ) or gateway().reverse_transfer(
            transfer_id=transfer_id, amount=amount, idempotency_key=key, metadata=metadata
        )
    except GatewayUnavailable:
        return False
    except GatewayRejected as error:
        failed = db.session.scalar(
            for_update(select(TransferReversal).where(TransferReversal.id == reversal_id))
        )
        assert failed is not None
        if failed.status == "pending":
            failed.status = "failed"
            failed.failure_message = error.message
        return False
    return record_reversal(reversal_id, result.id)


def record_reversal(reversal_id: int, stripe_reversal_id: str) -> bool:
    """Stripe made our reversal (its answer, or its webhook while the call was in flight):
    post it once; False when it was already recorded."""
    reversal = db.session.scalar(
        for_update(select(TransferReversal).where(TransferReversal.id == reversal_id))
    )
    if reversal is None or reversal.status == "succeeded":
        return False
    item = db.session.scalar(
        for_update(select(PayoutItem).where(PayoutItem.id == reversal.payout_item_id))
    )
    assert item is not None
    ledger.post(
        f"reversal:{reversal.idempotency_key}",
        "transfer_reversal",
        [
            debit(ledger.STRIPE_BALANCE, reversal.amount_minor),
            credit(ledger.available(f"payee-{item.payee_id}"), reversal.amount_minor),
        ],
        memo=f"reversal {stripe_reversal_id} of {item.stripe_transfer_id}",
        currency=item.currency,
    )
    reversal.status = "succeeded"
    reversal.stripe_reversal_id = stripe_reversal_id
    item.reversed_minor += reversal.amount_minor
    return True
