"""What can still be returned: the shop's window and each line's returnable quantity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from marketplace import orders
from marketplace.order_models import Order, OrderLine, OrderStatus
from marketplace.returns.models import ReturnLine, ReturnRequest, ReturnStatus

RETURNABLE_STATES = (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)


def answer_days() -> int:
    """Days a seller has to answer a request before the platform accepts it."""
    return int(current_app.config.get("RETURN_ANSWER_DAYS", 3))


def receipt_days() -> int:
    """Days after accepting by which the seller marks the parcel received, else the platform
    refunds the buyer."""
    return int(current_app.config.get("RETURN_RECEIPT_DAYS", 14))


def window_days(order: Order) -> int:
    """The window the order was sold with (0: no returns); the shop's for older orders."""
    if order.return_window_days is not None:
        return order.return_window_days
    return order.shop.return_window_days


@dataclass(frozen=True)
class Window:
    days: int
    # What the window counts from: "delivery" when the order records it, else "shipping".
    counted_from: str
    starts_at: datetime | None
    ends_at: datetime | None

    @property
    def accepts_returns(self) -> bool:
        return self.days > 0

    def is_open(self, now: datetime | None = None) -> bool:
        if not self.days or self.ends_at is None:
            return False
        return (now or utcnow()) <= self.ends_at


def window(order: Order) -> Window:
    days = window_days(order)
    start: datetime | None
    if order.delivered_at is not None:
        start, counted_from = order.delivered_at, "delivery"
    else:
        start, counted_from = order.shipped_at, "shipping"
    if order.status not in RETURNABLE_STATES:
        start = None
    end = start + timedelta(days=days) if start is not None and days else None
    return Window(days, counted_from, start, end)


def left_to_refund(order: Order) -> dict[int, int]:
    """Per line, what is left to refund, pending refunds counted as spent."""
    pending = orders.pending_by_line(order)
    return {line.id: line.refundable_minor - pending.get(line.id, 0) for line in order.lines}


def returned_quantities(
    order_id: int, statuses: tuple[str, ...], ignoring: int | None = None
) -> dict[int, int]:
    query = (
        select(ReturnLine.order_line_id, ReturnLine.quantity)
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.order_id == order_id, ReturnRequest.status.in_(statuses))
    )
    if ignoring is not None:
        query = query.where(ReturnRequest.id != ignoring)
    rows = db.session.execute(query)
    found: dict[int, int] = {}
    for line_id, quantity in rows:
        found[line_id] = found.get(line_id, 0) + quantity
    return found


def returnable(order: Order, ignoring: int | None = None) -> dict[int, int]:
    """How many of each line can still be returned: not what an open return holds (one open
    return per line at a time), not what a return settled (refunded, or refused for good by
    the moderators), and not what refunds
    already paid back (a line whose money is all back has nothing left to return; one partly
    refunded can still be sent back, for what is left). `ignoring`: the return being
    refunded, which is not counted against itself."""
    open_lines = returned_quantities(order.id, ReturnStatus.OPEN, ignoring)
    # Refunded, or refused for good by the moderators: those items are settled.
    taken_back = returned_quantities(order.id, ReturnStatus.SETTLED, ignoring)
    left = left_to_refund(order)
    found: dict[int, int] = {}
    for line in order.lines:
        if line.id in open_lines or not line.gross_minor:
            found[line.id] = 0
            continue
        # Units whose money is not all back yet (a unit partly refunded still counts).
        by_money = -(-max(left[line.id], 0) * line.quantity // line.gross_minor)
        found[line.id] = max(0, min(line.quantity - taken_back.get(line.id, 0), by_money))
    return found


def refund_amount(line: OrderLine, quantity: int, returnable_quantity: int, left: int) -> int:
    """What returning `quantity` of a line pays back: the line's gross shared by quantity,
    never more than is left; returning all that can be returned takes all that is left (so
    uneven cents never stay behind)."""
    if quantity >= returnable_quantity:
        return max(left, 0)
    return max(0, min(left, line.gross_minor * quantity // line.quantity))
