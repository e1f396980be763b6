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

Items are claimed, and their answers recorded, a batch at a time (two commits per hundred
transfers); the transfers themselves go one by one, no transaction open, each right after a
look at whether its earnings froze meanwhile. Stripe's rate limit is the gateway's to keep
(paced writes, a 429 sent again after a pause); the run says its pace as it goes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    cast,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from app import batches, uow
from app.batches import BatchFailure
from app.database import for_update, intent, kept_statement
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

log = logging.getLogger(__name__)

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
    planning_seconds: float = 0.0
    sending_seconds: float = 0.0

    def count(self, outcome: tuple[str, int]) -> None:
        kind, amount = outcome
        if kind == PAID:
            self.paid += 1
            self.amount_paid_minor += amount
        elif kind == FAILED:
            self.failed += 1
        elif kind == PENDING:
            self.pending += 1
        elif kind == HELD_BACK:
            self.held_back += 1


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
    item_rows: list[dict[str, Any]] = [
        {
            "run_id": run.id,
            "payee_id": chosen[0].payee_id,
            "source_charge_id": charge_id,
            "transfer_group": groups.get(charge_id),
            "currency": chosen[0].currency,
            "amount_minor": sum(e.net_minor for e in chosen),
        }
        for charge_id, chosen in planned
    ]
    write = _write_unnested if db.engine.dialect.name == "postgresql" else _write_in_rows
    item_ids = write(run.id, item_rows, [[e.id for e in chosen] for _, chosen in planned])
    return len(item_ids)


def _write_in_rows(run_id: int, rows: list[dict[str, Any]], earnings: list[list[int]]) -> list[int]:
    """Write the items and point their earnings at them, a row of parameters each.

    An item's key is made from its id, known once it is written: it is written with a key of
    its place in this run first (unique, as keys must be), then given its own."""
    items = db.metadata.tables[PayoutItem.__tablename__]
    # A Core insert with RETURNING, in as few statements as the database takes rows: the ORM's
    # bulk insert splits the rows by which columns are None, and asking for the rows back in
    # order makes SQLite insert them one by one; the temporary key says which row is which.
    written = db.session.execute(
        insert(items).returning(items.c.idempotency_key, items.c.id),
        [{**row, "idempotency_key": f"planned:{run_id}:{n}"} for n, row in enumerate(rows)],
    ).all()
    by_key: dict[str, int] = {key: item_id for key, item_id in written}
    item_ids = [by_key[f"planned:{run_id}:{n}"] for n in range(len(rows))]
    db.session.execute(
        update(PayoutItem)
        .where(PayoutItem.run_id == run_id)
        .values(idempotency_key=literal("payout-item-") + cast(PayoutItem.id, String))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Earning),
        [
            {"id": earning_id, "payout_item_id": item_id}
            for item_id, earning_ids in zip(item_ids, earnings, strict=True)
            for earning_id in earning_ids
        ],
    )
    return item_ids


def _write_unnested(
    run_id: int, rows: list[dict[str, Any]], earnings: list[list[int]]
) -> list[int]:
    """PostgreSQL: the items in one statement and their earnings in another, whatever their
    number, each list of values sent as one array. An item takes its id from the sequence as
    it is written, and its key with it."""
    written = db.session.execute(
        text(
            "INSERT INTO payout_items (id, idempotency_key, run_id, payee_id, source_charge_id,"
            " transfer_group, currency, amount_minor, status, reversed_minor, attempts,"
            " created_at)"
            " SELECT item.id, 'payout-item-' || item.id, :run_id, item.payee_id, item.charge,"
            " item.transfer_group, item.currency, item.amount, :status, 0, 0, :created_at"
            " FROM (SELECT nextval(pg_get_serial_sequence('payout_items', 'id')) AS id, batch.*"
            " FROM unnest(CAST(:payee_ids AS INTEGER[]), CAST(:charges AS VARCHAR[]),"
            " CAST(:transfer_groups AS VARCHAR[]), CAST(:currencies AS VARCHAR[]),"
            " CAST(:amounts AS BIGINT[]))"
            " AS batch(payee_id, charge, transfer_group, currency, amount)) AS item"
            " RETURNING payee_id, source_charge_id, id"
        ),
        {
            "run_id": run_id,
            "status": PayoutItemStatus.PENDING,
            "created_at": utcnow(),
            "payee_ids": [row["payee_id"] for row in rows],
            "charges": [row["source_charge_id"] for row in rows],
            "transfer_groups": [row["transfer_group"] for row in rows],
            "currencies": [row["currency"] for row in rows],
            "amounts": [row["amount_minor"] for row in rows],
        },
    ).all()
    # One item per payee per charge in a run: that pair says which row is which.
    by_pair = {(payee_id, charge): item_id for payee_id, charge, item_id in written}
    item_ids = [by_pair[(row["payee_id"], row["source_charge_id"])] for row in rows]
    pairs = [
        (earning_id, item_id)
        for item_id, earning_ids in zip(item_ids, earnings, strict=True)
        for earning_id in earning_ids
    ]
    db.session.execute(
        text(
            "UPDATE earnings SET payout_item_id = batch.item_id"
            " FROM unnest(CAST(:earning_ids AS INTEGER[]), CAST(:item_ids AS INTEGER[]))"
            " AS batch(earning_id, item_id) WHERE earnings.id = batch.earning_id"
        ),
        {"earning_ids": [e for e, _ in pairs], "item_ids": [i for _, i in pairs]},
    )
    return item_ids


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


# Items claimed together, and their outcomes recorded together: two commits per hundred
# transfers instead of two per transfer.
SEND_BATCH = 100

PAID, FAILED, PENDING, HELD_BACK, SKIPPED = "paid", "failed", "pending", "held back", "skipped"


@dataclass(frozen=True)
class _Claimed:
    """What a claimed item's Stripe call needs, read while it was claimed."""

    item_id: int
    payee_id: int
    amount_minor: int
    currency: str
    destination: str
    source_charge_id: str
    transfer_group: str | None
    idempotency_key: str
    # As they were before this claim, to put back if the item is let go unsent.
    first_sent_at: datetime | None
    attempts: int
    # Past the key's 24 hours at Stripe: look for what the first attempt made before sending.
    key_expired: bool

    @property
    def metadata(self) -> dict[str, str]:
        return {"payout_item": str(self.item_id), "payee": str(self.payee_id)}


@dataclass(frozen=True)
class _Answer:
    """What became of one item's Stripe call, to record: PAID (with the transfer), FAILED
    (with Stripe's reason), PENDING (try again later), HELD_BACK, or let go unsent."""

    item: _Claimed
    outcome: str
    transfer_id: str = ""
    message: str = ""


def submit(item_id: int) -> str:
    """Claim one item, create (or replay, or find) its transfer, and record the outcome.

    The claim (`submitting` with a lease) is committed before Stripe is called and outlives
    the row lock, so a second run at the same moment skips the item instead of sending it
    again. The outcome names only a transition this call made itself.
    """
    claimed, held = _claim([item_id], utcnow())
    uow.checkpoint()  # the claim is on record before Stripe is called
    if held:
        return HELD_BACK
    if not claimed:
        return SKIPPED
    watch = _FreezeWatch()
    try:
        answer = _send(claimed[0], watch)
    finally:
        watch.close()
    return _record([answer])[0]


def _claim(item_ids: list[int], now: datetime) -> tuple[list[_Claimed], list[int]]:
    """Claim the items still claimable among `item_ids` (the caller commits); items whose
    earnings froze before they were ever sent are held back instead (their ids returned)."""
    items = db.session.scalars(
        _lock(
            select(PayoutItem)
            .where(PayoutItem.id.in_(item_ids), _claimable(now))
            .order_by(PayoutItem.id)
        ).execution_options(populate_existing=True)
    ).all()
    if not items:
        return [], []
    accounts = {
        payee_id: account
        for payee_id, account in db.session.execute(
            select(Payee.id, Payee.stripe_account_id).where(
                Payee.id.in_({item.payee_id for item in items})
            )
        )
    }
    frozen = _frozen_items([item.id for item in items])
    claimed: list[_Claimed] = []
    held: list[int] = []
    for item in items:
        # An earning may have frozen since the item was planned (a dispute, a held refund):
        # what was never sent is held back; what may have been sent is looked for (when it
        # comes to be sent), never sent again.
        if item.id in frozen and item.first_sent_at is None:
            _hold_back(item)
            held.append(item.id)
            continue
        destination = accounts.get(item.payee_id)
        assert destination
        claimed.append(
            _Claimed(
                item_id=item.id,
                payee_id=item.payee_id,
                amount_minor=item.amount_minor,
                currency=item.currency,
                destination=destination,
                source_charge_id=item.source_charge_id,
                transfer_group=item.transfer_group,
                idempotency_key=item.idempotency_key,
                first_sent_at=item.first_sent_at,
                attempts=item.attempts,
                # Stripe forgets a key after 24 hours: then the first attempt's transfer is
                # looked for before anything is sent again.
                key_expired=item.first_sent_at is not None
                and item.first_sent_at <= now - KEY_LIFETIME,
            )
        )
        item.status = PayoutItemStatus.SUBMITTING
        item.claimed_until = now + CLAIM_LEASE
        item.first_sent_at = item.first_sent_at or now
        item.attempts += 1
    return claimed, held


def _frozen_items(item_ids: list[int]) -> set[int]:
    """Which of the items have an earning frozen (a dispute, a refund held for an admin)."""
    return {
        item_id
        for item_id in db.session.scalars(
            select(Earning.payout_item_id)
            .where(Earning.payout_item_id.in_(item_ids), Earning.frozen.is_(True))
            .distinct()
        )
        if item_id is not None
    }


class _FreezeWatch:
    """Looks whether an item's earnings froze, just before its transfer is sent.

    On a connection of its own, each look committed at once: no transaction is open across
    the Stripe call, and the session does not take a connection from the pool, and begin and
    end a transaction, for every item."""

    def __init__(self) -> None:
        self._connection: Connection | None = None

    def frozen(self, item_id: int) -> bool:
        if self._connection is None:
            self._connection = db.engine.connect()
            if self._connection.dialect.name == "postgresql":
                # One round trip a look, not three (BEGIN, the look, COMMIT).
                self._connection = self._connection.execution_options(isolation_level="AUTOCOMMIT")
        # Run before every transfer: built once (app.database.kept_statement).
        statement = kept_statement(
            ("payouts.payout_run.frozen",),
            lambda: (
                select(Earning.id)
                .where(Earning.payout_item_id == bindparam("item_id"), Earning.frozen.is_(True))
                .limit(1)
            ),
        )
        with intent(write=False):  # a read: on SQLite, it need not wait for the write lock
            found = self._connection.execute(statement, {"item_id": item_id}).first()
        self._connection.commit()
        return found is not None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _send(
    claimed: _Claimed,
    watch: _FreezeWatch,
    on_rate_limit: Callable[[float, int], None] | None = None,
) -> _Answer:
    """Create (or replay, or find) the item's transfer; no transaction is open across it.

    Its earnings are looked at once more just before the call: one may have frozen while the
    items claimed before it were sent."""
    uow.checkpoint()  # nothing of the session's is held across the call either
    frozen = watch.frozen(claimed.item_id)
    if frozen and claimed.first_sent_at is None:
        return _Answer(claimed, HELD_BACK)
    try:
        transfer = (
            gateway().find_transfer(
                destination=claimed.destination,
                transfer_group=claimed.transfer_group,
                metadata={"payout_item": str(claimed.item_id)},
            )
            if frozen or claimed.key_expired
            else None
        )
        if transfer is None and frozen:
            return _Answer(claimed, HELD_BACK)
        if transfer is None:
            transfer = gateway().create_transfer(
                amount=claimed.amount_minor,
                currency=claimed.currency,
                destination=claimed.destination,
                source_transaction=claimed.source_charge_id,
                transfer_group=claimed.transfer_group,
                idempotency_key=claimed.idempotency_key,
                metadata=claimed.metadata,
                on_rate_limit=on_rate_limit,
            )
    except GatewayUnavailable:
        return _Answer(claimed, PENDING)  # the next run tries again with the same key
    except GatewayRejected as error:
        return _Answer(claimed, FAILED, message=error.message)
    return _Answer(claimed, PAID, transfer_id=transfer.id)


def _record(answers: list[_Answer]) -> list[str]:
    """Record what Stripe answered for claimed items, in the caller's transaction; returns
    each item's outcome as this run reports it (SKIPPED where another run recorded it
    first)."""
    if not answers:
        return []
    ids = [answer.item.item_id for answer in answers]
    items = {
        item.id: item
        for item in db.session.scalars(
            for_update(select(PayoutItem).where(PayoutItem.id.in_(ids))).execution_options(
                populate_existing=True
            )
        )
    }
    now = utcnow()
    outcomes: list[str] = []
    paid: list[int] = []
    released: list[int] = []
    postings: list[ledger.Posting] = []
    for answer in answers:
        item = items[answer.item.item_id]
        if answer.outcome == PAID:
            if item.status == PayoutItemStatus.PAID:
                outcomes.append(SKIPPED)
                continue
            postings.append(
                ledger.Posting(
                    f"payout:{item.idempotency_key}",
                    "payout",
                    [
                        debit(ledger.available(f"payee-{item.payee_id}"), item.amount_minor),
                        credit(ledger.STRIPE_BALANCE, item.amount_minor),
                    ],
                    memo=f"transfer {answer.transfer_id}",
                    currency=item.currency,
                )
            )
            item.status = PayoutItemStatus.PAID
            item.stripe_transfer_id = answer.transfer_id
            item.claimed_until = None
            item.completed_at = now
            paid.append(item.id)
        elif answer.outcome == FAILED:
            if item.status in (PayoutItemStatus.PAID, PayoutItemStatus.FAILED):
                outcomes.append(SKIPPED)
                continue
            item.status = PayoutItemStatus.FAILED
            item.failure_message = answer.message
            item.claimed_until = None
            item.completed_at = now
            # Nothing was posted for it: its earnings go back to available for a later run.
            released.append(item.id)
        elif answer.outcome == HELD_BACK:
            if item.status in (PayoutItemStatus.PENDING, PayoutItemStatus.SUBMITTING):
                item.status = PayoutItemStatus.HELD_BACK
                item.claimed_until = None
                item.completed_at = now
                released.append(item.id)
        elif item.status == PayoutItemStatus.SUBMITTING:
            # PENDING: the next run tries again with the same key. SKIPPED: never sent (its
            # turn did not come within the lease), so it is as it was before the claim.
            item.status = PayoutItemStatus.PENDING
            item.claimed_until = None
            if answer.outcome == SKIPPED:
                item.first_sent_at = answer.item.first_sent_at
                item.attempts = answer.item.attempts
        outcomes.append(answer.outcome)
    # The batch's payouts in the ledger at once (a key posted before is left as it was).
    ledger.post_many(postings)
    if paid:
        db.session.execute(
            update(Earning)
            .where(Earning.payout_item_id.in_(paid))
            .values(state=EarningState.PAID, paid_at=now)
            .execution_options(synchronize_session=False)
        )
    if released:
        db.session.execute(
            update(Earning)
            .where(Earning.payout_item_id.in_(released))
            .values(payout_item_id=None)
            .execution_options(synchronize_session=False)
        )
    return outcomes


def _hold_back(item: PayoutItem) -> None:
    if item.status not in (PayoutItemStatus.PENDING, PayoutItemStatus.SUBMITTING):
        return
    item.status = PayoutItemStatus.HELD_BACK
    item.claimed_until = None
    item.completed_at = utcnow()
    db.session.execute(
        update(Earning)
        .where(Earning.payout_item_id == item.id)
        .values(payout_item_id=None)
        .execution_options(synchronize_session=False)
    )


class _Progress:
    """Says how a run goes: every `every` items, how many are handled and at what pace (and
    whether the rate limit held it back); at once, each pause a 429 imposes."""

    def __init__(self, say: Callable[[str], None], total: int, every: int) -> None:
        self.say = say
        self.total = total
        self.every = max(1, every)
        self.handled = 0
        self.started = time.perf_counter()
        self.last_at, self.last_handled = self.started, 0
        limit = gateway().rate_limit
        self.paced, self.paused = limit.paced_seconds, limit.paused_seconds

    def rate_limited(self, item_id: int) -> Callable[[float, int], None]:
        def heard(pause: float, refusals: int) -> None:
            self.say(
                f"waiting {pause:.1f} s on Stripe's rate limit (429 #{refusals} for payout "
                f"item {item_id}; {self.handled}/{self.total} handled)"
            )

        return heard

    def advance(self, count: int) -> None:
        before, self.handled = self.handled, self.handled + count
        if self.handled // self.every == before // self.every and self.handled != self.total:
            return
        now = time.perf_counter()
        pace = (self.handled - self.last_handled) / max(now - self.last_at, 1e-9)
        line = (
            f"{self.handled}/{self.total} transfers handled, {pace:.0f} transfers/s "
            f"({now - self.started:.1f} s)"
        )
        limit = gateway().rate_limit
        paced, paused = limit.paced_seconds - self.paced, limit.paused_seconds - self.paused
        if paced > 0 or paused > 0:
            line += (
                f"; waited on the rate limit {paced + paused:.1f} s "
                f"(paced to {limit.per_second or 'unlimited'}/s {paced:.1f} s, "
                f"after 429s {paused:.1f} s)"
            )
        self.say(line)
        self.last_at, self.last_handled = now, self.handled
        self.paced, self.paused = limit.paced_seconds, limit.paused_seconds


def run(progress: Callable[[str], None] | None = None, *, progress_every: int = 100) -> RunResult:
    """One payout run: plan, commit, then pay each pending item (this run's and older ones).

    Items go in batches: a batch is claimed in one transaction, each of its transfers is
    made with no transaction open, and what Stripe answered is recorded in one transaction.
    A batch whose claim or record fails goes again item by item, so that one bad item is
    recorded for the admins and the others are paid.
    """
    say = progress or (lambda _message: None)
    payout_run = PayoutRun()
    db.session.add(payout_run)
    db.session.flush()
    result = RunResult(run_id=payout_run.id)
    started = time.perf_counter()
    result.created = plan(payout_run)
    result.planning_seconds = time.perf_counter() - started
    say(f"{result.created} transfer(s) to make, planned in {result.planning_seconds:.2f} s")
    uow.checkpoint()
    pending = list(
        db.session.scalars(
            select(PayoutItem.id).where(_claimable(utcnow())).order_by(PayoutItem.id)
        )
    )
    known = set(
        db.session.scalars(select(BatchFailure.subject).where(BatchFailure.batch == RUN_BATCH))
    )
    uow.checkpoint()
    progress_line = _Progress(say, len(pending), progress_every)
    sending = time.perf_counter()
    queue = list(reversed(pending))
    watch = _FreezeWatch()
    try:
        while queue:
            chunk = [queue.pop() for _ in range(min(SEND_BATCH, len(queue)))]
            outcomes, errors, unsent = _pay_batch(chunk, known, progress_line, watch)
            for outcome in outcomes:
                result.count(outcome)
            result.errors += errors
            # Items whose turn did not come while the batch's claim lasted go in a later one.
            queue.extend(reversed(unsent))
            progress_line.advance(len(chunk) - len(unsent))
    finally:
        watch.close()
    result.sending_seconds = time.perf_counter() - sending
    finished = db.session.get(PayoutRun, result.run_id)
    assert finished is not None
    finished.finished_at = utcnow()
    finished.items_created = result.created
    finished.items_paid = result.paid
    finished.items_failed = result.failed
    finished.amount_paid_minor = result.amount_paid_minor
    return result


RUN_BATCH = "payouts.run"


def _subject(item_id: int) -> str:
    return f"payout item {item_id}"


def _pay_batch(
    chunk: list[int], known: set[str], progress: _Progress, watch: _FreezeWatch
) -> tuple[list[tuple[str, int]], int, list[int]]:
    """Claim, send and record one batch; returns the outcomes (with each paid amount), how
    many items raised, and the items let go unsent (their turn came after the lease's half)."""
    now = utcnow()
    try:
        claimed, held = _claim(chunk, now)
        uow.checkpoint()  # the claims are on record before Stripe is called
    except Exception:
        uow.rollback()
        log.exception("payouts.run: claiming a batch failed; its items go one by one")
        return _one_by_one(chunk, known)
    outcomes: list[tuple[str, int]] = [(HELD_BACK, 0) for _ in held]
    errors = 0
    answers: list[_Answer] = []
    # Sent while the claims hold, with half the lease to spare (the first always goes, so a
    # run always moves on).
    deadline = now + CLAIM_LEASE / 2
    for n, claim in enumerate(claimed):
        if n > 0 and utcnow() >= deadline:
            answers += [_Answer(later, SKIPPED) for later in claimed[n:]]
            break
        try:
            answers.append(_send(claim, watch, progress.rate_limited(claim.item_id)))
        except Exception as error:
            # The claim stays until its lease ends: what Stripe may have done is found then.
            uow.rollback()
            watch.close()  # the next look starts on a fresh connection
            log.exception("payouts.run: payout item %s failed", claim.item_id)
            batches.record_failure(RUN_BATCH, _subject(claim.item_id), error)
            errors += 1
    try:
        recorded = _record(answers)
        _clear_failures(answers, known)
        uow.checkpoint()
    except Exception:
        uow.rollback()
        log.exception("payouts.run: recording a batch failed; its items go one by one")
        recorded, failed = _record_one_by_one(answers, known)
        errors += failed
    unsent = []
    for answer, outcome in zip(answers, recorded, strict=True):
        if answer.outcome == SKIPPED and outcome == SKIPPED:
            unsent.append(answer.item.item_id)
        elif outcome:
            outcomes.append((outcome, answer.item.amount_minor))
    return outcomes, errors, unsent


def _clear_failures(answers: list[_Answer], known: set[str]) -> None:
    """Items that went through leave the admins' list (the caller commits)."""
    for answer in answers:
        name = _subject(answer.item.item_id)
        if name in known and answer.outcome != SKIPPED:
            batches.clear_failure(RUN_BATCH, name)
            known.discard(name)


def _record_one_by_one(answers: list[_Answer], known: set[str]) -> tuple[list[str], int]:
    """Record each answer in its own transaction: one that raises is rolled back and recorded
    for the admins (its claim lapses and a later run finds its transfer)."""
    recorded: list[str] = []
    failed = 0
    for answer in answers:
        try:
            (outcome,) = _record([answer])
            _clear_failures([answer], known)
            uow.checkpoint()
        except Exception as error:
            uow.rollback()
            log.exception("payouts.run: payout item %s failed", answer.item.item_id)
            batches.record_failure(RUN_BATCH, _subject(answer.item.item_id), error)
            failed += 1
            outcome = ""
        recorded.append(outcome)
    return recorded, failed


def _one_by_one(chunk: list[int], known: set[str]) -> tuple[list[tuple[str, int]], int, list[int]]:
    outcomes: list[tuple[str, int]] = []

    def pay(item_id: int) -> str:
        outcome = submit(item_id)
        amount = db.session.scalar(select(PayoutItem.amount_minor).where(PayoutItem.id == item_id))
        outcomes.append((outcome, int(amount or 0)))
        return outcome

    batch = batches.each(RUN_BATCH, chunk, pay, subject=_subject)
    for name in known & {_subject(item_id) for item_id in chunk}:
        if name not in batch.failed:
            known.discard(name)
    return outcomes, len(batch.failed), []


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
