"""The double-entry ledger: balanced, append-only, idempotent.

Every journal entry has lines that sum to zero per currency; nothing is updated or deleted
(a mistake is fixed by a new entry); every entry carries a unique idempotency key taken from
what caused it (the Stripe event, the payout item, the refund), so posting twice is a no-op.

Accounts are named by codes, so the ledger knows nothing of users or shops:
  platform:stripe_balance   asset     the platform's balance at Stripe
  platform:fee_revenue      income    platform fees earned
  platform:stripe_fees      expense   Stripe's processing (and dispute) fees
  platform:disputed         asset     money withheld by Stripe while a dispute is open
  payee:<who>:pending       liability earnings not yet released
  payee:<who>:available     liability earnings released and not yet paid out
Amounts are signed: a debit is positive, a credit negative. `balance()` reports an account in
its natural sign (what a payee is owed is positive).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.extensions import db
from payouts.models import AccountKind, JournalEntry, JournalLine, LedgerAccount

STRIPE_BALANCE = "platform:stripe_balance"
FEE_REVENUE = "platform:fee_revenue"
STRIPE_FEES = "platform:stripe_fees"
# Money Stripe withheld from our balance for an open dispute (it returns if we win).
DISPUTED = "platform:disputed"
# Money refunded at Stripe by no intent of ours, held until an admin books or absorbs it.
HELD_REFUNDS = "platform:held_refunds"

_PLATFORM_KINDS = {
    STRIPE_BALANCE: AccountKind.ASSET,
    FEE_REVENUE: AccountKind.INCOME,
    STRIPE_FEES: AccountKind.EXPENSE,
    DISPUTED: AccountKind.ASSET,
    HELD_REFUNDS: AccountKind.ASSET,
}


class LedgerError(Exception):
    pass


def pending(payee: str) -> str:
    return f"payee:{payee}:pending"


def available(payee: str) -> str:
    return f"payee:{payee}:available"


def _kind_of(code: str) -> str:
    if code in _PLATFORM_KINDS:
        return _PLATFORM_KINDS[code]
    if code.startswith("payee:"):
        return AccountKind.LIABILITY
    raise LedgerError(f"unknown ledger account {code!r}")


@dataclass(frozen=True)
class Leg:
    account: str
    amount: int  # debit positive, credit negative


def debit(account: str, amount: int) -> Leg:
    return Leg(account, amount)


def credit(account: str, amount: int) -> Leg:
    return Leg(account, -amount)


def account(code: str, currency: str | None = None) -> LedgerAccount:
    """The account with this code, created on first use."""
    currency = (currency or current_app.config["CURRENCY"]).lower()
    found = db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        return found
    created = LedgerAccount(code=code, kind=_kind_of(code), currency=currency)
    try:
        with db.session.begin_nested():
            db.session.add(created)
    except IntegrityError:
        # Another transaction created it first.
        return db.session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one()
    return created


def post(
    key: str,
    kind: str,
    legs: Sequence[Leg],
    *,
    memo: str = "",
    currency: str | None = None,
) -> JournalEntry:
    """Post a balanced entry once: a second post with the same key returns the first entry.

    Legs on the same account are merged and zero legs dropped; an entry must still have at
    least two legs and sum to zero.
    """
    currency = (currency or current_app.config["CURRENCY"]).lower()
    merged: dict[str, int] = defaultdict(int)
    for leg in legs:
        merged[leg.account] += leg.amount
    nonzero = {code: amount for code, amount in merged.items() if amount != 0}
    if sum(nonzero.values()) != 0:
        raise LedgerError(f"entry {key!r} does not balance: {dict(merged)}")
    existing = db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == key))
    if existing is not None:
        return _same_or_fail(existing, nonzero)
    if len(nonzero) < 2:
        raise LedgerError(f"entry {key!r} moves nothing")
    entry = JournalEntry(idempotency_key=key, kind=kind, memo=memo[:300])
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
            for code, amount in sorted(nonzero.items()):
                db.session.add(
                    JournalLine(
                        entry_id=entry.id,
                        account_id=account(code, currency).id,
                        amount=amount,
                        currency=currency,
                    )
                )
    except IntegrityError:
        # The same cause was posted concurrently; that post stands.
        existing = db.session.scalars(
            select(JournalEntry).where(JournalEntry.idempotency_key == key)
        ).one()
        return _same_or_fail(existing, nonzero)
    return entry


def _same_or_fail(entry: JournalEntry, legs: dict[str, int]) -> JournalEntry:
    posted = {line.account.code: line.amount for line in entry.lines}
    if posted != legs:
        raise LedgerError(
            f"entry {entry.idempotency_key!r} was posted before with other amounts: "
            f"{posted} != {legs}"
        )
    return entry


def entry_exists(key: str) -> bool:
    return (
        db.session.scalar(select(JournalEntry.id).where(JournalEntry.idempotency_key == key))
        is not None
    )


def raw_balance(code: str) -> int:
    """Sum of the account's lines (debit positive)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .where(LedgerAccount.code == code)
    )
    return int(total or 0)


def balance(code: str) -> int:
    """The account's balance in its natural sign (a payee's earnings are positive)."""
    raw = raw_balance(code)
    return -raw if _kind_of(code) in AccountKind.CREDIT_NORMAL else raw


def balances(codes: Iterable[str]) -> dict[str, int]:
    codes = list(codes)
    rows = db.session.execute(
        select(LedgerAccount.code, func.coalesce(func.sum(JournalLine.amount), 0))
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.code.in_(codes))
        .group_by(LedgerAccount.code)
    ).all()
    raw = {code: int(total) for code, total in rows}
    return {
        code: (
            -raw.get(code, 0) if _kind_of(code) in AccountKind.CREDIT_NORMAL else raw.get(code, 0)
        )
        for code in codes
    }


def unbalanced_entries() -> list[int]:
    """Ids of entries whose lines do not sum to zero (must always be empty)."""
    rows = db.session.execute(
        select(JournalLine.entry_id)
        .group_by(JournalLine.entry_id, JournalLine.currency)
        .having(func.sum(JournalLine.amount) != 0)
    ).all()
    return [row[0] for row in rows]


def trial_balance() -> int:
    """The sum of every line in the ledger: zero when every entry balances."""
    return int(db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))) or 0)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, JournalEntry | JournalLine) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise LedgerError("the ledger is append-only: post a correcting entry instead")
