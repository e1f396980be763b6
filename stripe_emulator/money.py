"""Balance bookkeeping: balance transactions and the ledger that sums them.

Every movement of money creates a ``balance_transaction`` (``txn_``) on one account plus a
ledger row with its net amount and ``available_on``. Balances are sums of the ledger split by
``available_on`` versus the emulator clock, so funds "become available" simply by time passing.
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .context import Ctx
from .ids import new_id

# Stripe's own categories for the balance transaction types the emulator produces.
REPORTING_CATEGORY = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "transfer": "transfer",
    "transfer_refund": "transfer_reversal",
    "payout": "payout",
    "payout_failure": "payout_reversal",
    "adjustment": "dispute",
    "stripe_fee": "fee",
}

DISPUTE_FEE = 1500


def processing_fee(amount: int, fee_bps: int, fee_fixed: int) -> int:
    """Percentage (in basis points) plus fixed part, the percentage rounded half up."""
    return (amount * fee_bps + 5000) // 10000 + fee_fixed


def fee_detail(amount: int, currency: str, description: str) -> dict[str, Any]:
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": description,
        "type": "stripe_fee",
    }


def add_txn(
    ctx: Ctx,
    *,
    account: str,
    type: str,
    amount: int,
    currency: str,
    source: str | None,
    available_on: int | None = None,
    fee: int = 0,
    fee_details: list[dict[str, Any]] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    available_on = ctx.now if available_on is None else available_on
    txn = shapes.balance_transaction(
        id=new_id("txn"),
        amount=amount,
        available_on=available_on,
        created=ctx.now,
        currency=currency,
        description=description,
        fee=fee,
        fee_details=fee_details or [],
        net=amount - fee,
        reporting_category=REPORTING_CATEGORY.get(type, type),
        source=source,
        status="available" if available_on <= ctx.now else "pending",
        type=type,
    )
    ctx.store.insert(txn, type="balance_transaction", account=account)
    ctx.store.add_ledger(txn["id"], account, currency, txn["net"], available_on)
    return txn


def balances(ctx: Ctx, account: str) -> dict[str, tuple[int, int]]:
    return ctx.store.balances(account, ctx.now)


def available(ctx: Ctx, account: str, currency: str) -> int:
    return balances(ctx, account).get(currency, (0, 0))[0]


def total(ctx: Ctx, account: str, currency: str) -> int:
    avail, pending = balances(ctx, account).get(currency, (0, 0))
    return avail + pending
