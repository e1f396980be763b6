"""What a payee sees of their money, and what an admin sees of the platform's."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response
from sqlalchemy import case, func, select

from app.extensions import db
from app.models import utcnow
from marketplace.order_models import Order, OrderLine
from payouts import ledger
from payouts.models import (
    Earning,
    EarningState,
    Payee,
    PayoutItem,
    StripeEvent,
    TransferReversal,
)
from payouts.splits import Role


@dataclass
class Totals:
    pending: int
    available: int
    paid: int
    # Negative when refunds took back more than could be recovered from paid transfers.
    balance_note: int = 0


def totals(payee: Payee) -> Totals:
    key = f"payee-{payee.id}"
    pending = ledger.balance(ledger.pending(key))
    available = ledger.balance(ledger.available(key))
    paid = db.session.scalar(
        select(
            func.coalesce(func.sum(PayoutItem.amount_minor - PayoutItem.reversed_minor), 0)
        ).where(PayoutItem.payee_id == payee.id, PayoutItem.status == "paid")
    )
    return Totals(
        pending=pending, available=available, paid=int(paid or 0), balance_note=min(available, 0)
    )


def earnings_query(payee: Payee) -> Any:
    """A payee's earnings, each with the order's number and the line's title. The number is
    the seller's alone: for a curator, a co-creator or the collective the order is a stranger's
    purchase, so their rows name the product, the date and their part, never the order."""
    own_order = case((Earning.role == Role.SELLER, Order.reference), else_=None)
    return (
        select(Earning, own_order.label("reference"), OrderLine.title)
        .outerjoin(Order, Order.id == Earning.order_id)
        .outerjoin(OrderLine, OrderLine.id == Earning.order_line_id)
        .where(Earning.payee_id == payee.id)
        .order_by(Earning.created_at.desc(), Earning.id.desc())
    )


def payout_items(payee: Payee, limit: int = 20) -> list[PayoutItem]:
    return list(
        db.session.scalars(
            select(PayoutItem)
            .where(PayoutItem.payee_id == payee.id)
            .order_by(PayoutItem.id.desc())
            .limit(limit)
        )
    )


@dataclass
class Bar:
    label: str
    amount: int
    height: int  # 0-100, for the chart


def _month_starts(now: datetime, months: int) -> list[datetime]:
    """The first day of the last `months` months, oldest first, ending with this month."""
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(
            now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


def _cell(value: Any) -> Any:
    """A spreadsheet would run a text cell starting with = + - @ as a formula (a product
    title is anyone's text): such cells are quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


CSV_COLUMNS = [
    "date",
    "order",
    "item",
    "role",
    "currency",
    "amount_minor",
    "refunded_minor",
    "net_minor",
    "state",
    "available_on",
    "paid_at",
]


def earnings_csv_response(payee: Payee | None) -> Response:
    """A payee's earnings as a CSV download (the page's link and the API's export)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    if payee is not None:
        for earning, reference, title in db.session.execute(earnings_query(payee)):
            writer.writerow(
                _cell(value)
                for value in [
                    earning.created_at.isoformat(),
                    reference,
                    title or "shipping",
                    earning.role,
                    earning.currency,
                    earning.amount_minor,
                    earning.refunded_minor,
                    earning.net_minor,
                    state_of(earning),
                    earning.available_on.isoformat() if earning.available_on else "",
                    earning.paid_at.isoformat() if earning.paid_at else "",
                ]
            )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=kindred-earnings.csv"},
    )


def monthly_chart(payee: Payee, months: int = 6) -> list[Bar]:
    """Earnings (net of refunds) by month over the last months, for a small server-drawn chart."""
    starts = _month_starts(utcnow(), months)
    rows = db.session.execute(
        select(Earning.created_at, Earning.amount_minor - Earning.refunded_minor).where(
            Earning.payee_id == payee.id, Earning.created_at >= starts[0]
        )
    ).all()
    by_month: dict[str, int] = defaultdict(int)
    for created, net in rows:
        by_month[created.strftime("%Y-%m")] += int(net)
    labels = [start.strftime("%Y-%m") for start in starts]
    peak = max([by_month.get(label, 0) for label in labels] + [1])
    return [
        Bar(label, by_month.get(label, 0), round(100 * max(by_month.get(label, 0), 0) / peak))
        for label in labels
    ]


def state_of(earning: Earning) -> str:
    if earning.amount_minor and earning.refunded_minor >= earning.amount_minor:
        return "refunded"
    if earning.frozen:
        return "disputed"
    return earning.state


def platform_totals() -> dict[str, int]:
    """The ledger's platform accounts, and what is owed to payees (pending and available)."""
    from payouts.models import JournalLine, LedgerAccount

    values = ledger.balances(
        [ledger.STRIPE_BALANCE, ledger.FEE_REVENUE, ledger.STRIPE_FEES, ledger.DISPUTED]
    )
    rows = db.session.execute(
        select(LedgerAccount.code, func.coalesce(func.sum(JournalLine.amount), 0))
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.code.like("payee:%"))
        .group_by(LedgerAccount.code)
    ).all()
    owed = {"owed_pending": 0, "owed_available": 0}
    for code, raw in rows:
        # Payee accounts are liabilities: a credit (negative) is money owed.
        owed["owed_pending" if code.endswith(":pending") else "owed_available"] -= int(raw)
    return {**values, **owed}


def failing_events(limit: int = 20) -> list[StripeEvent]:
    """Stripe events whose processing failed and that are not processed yet (retried with
    back-off); the oldest first."""
    return list(
        db.session.scalars(
            select(StripeEvent)
            .where(StripeEvent.processed_at.is_(None), StripeEvent.last_error.is_not(None))
            .order_by(StripeEvent.received_at)
            .limit(limit)
        )
    )


def failed_reversals(limit: int = 20) -> list[TransferReversal]:
    return list(
        db.session.scalars(
            select(TransferReversal)
            .where(TransferReversal.status == "failed")
            .order_by(TransferReversal.id.desc())
            .limit(limit)
        )
    )


__all__ = [
    "EarningState",
    "Totals",
    "earnings_query",
    "monthly_chart",
    "payout_items",
    "state_of",
    "totals",
]
