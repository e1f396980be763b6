"""The platform decides when a seller does not act in time (run by a periodic job).

Each due return is settled in a transaction of its own, under its order's lock, and read
again there: two sweeps at once, or a sweep during the seller's click, move it once. A
refund it records is sent like any other (committed first, then Stripe, with the refund's
own key); unanswered, it stays pending for `commerce.retry_refunds`.
"""

from __future__ import annotations

from app import batches
from marketplace import orders
from marketplace.returns import steps


def settle_due_returns(limit: int = 200) -> int:
    def settle(return_id: int) -> bool:
        before = steps.status_of(return_id)
        refund = steps.settle_due(return_id)
        if refund is not None:
            orders.deliver_refund(refund)
        return steps.status_of(return_id) != before

    result = batches.each(
        "returns.settle_due", steps.due(limit), settle, subject=lambda i: f"return {i}"
    )
    return sum(result.outcomes)
