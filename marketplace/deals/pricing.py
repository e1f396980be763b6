"""What a shop's deals take off its lines in one checkout, to the cent.

How a bundle and a coupon combine: the bundle applies first, to the shop's items; the coupon
then applies to what remains (a percentage of it, or its fixed amount, at most what
remains). A coupon's minimum order is read on the shop's items before any discount. Together
they never take the shop's items below MIN_ITEMS_PAID_MINOR (so nobody pays nothing through
Stripe, and no line goes negative). Shipping is never discounted: it pays the parcel, and it
goes to the seller whole.

Each discount is shared over the shop's lines in proportion to their price (the coupon: to
what each line has left after the bundle), by the largest-remainder method: the lines'
discounts sum to the shop's discount exactly, and each line keeps a gross between zero and
its price. A line's adjustments are a list of (kind, amount) so that another kind (an offer)
can plug in later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.apportion import largest_remainder
from marketplace.deals.models import MIN_ITEMS_PAID_MINOR

BPS = 10_000


def allocate(discount: int, weights: Sequence[int]) -> list[int]:
    """Share `discount` over lines weighing `weights` (their prices, zero allowed), by largest
    remainder. The parts sum to `discount`; with `discount <= sum(weights)` each part is
    between 0 and its weight."""
    if discount < 0 or any(w < 0 for w in weights):
        raise ValueError("a discount and the prices it is shared over are not negative")
    total = sum(weights)
    if discount == 0:
        return [0] * len(weights)
    if total <= 0 or discount > total:
        raise ValueError("a discount cannot exceed what it is shared over")
    return largest_remainder(discount, weights, total)


def percent_of(amount: int, bps: int) -> int:
    """A percentage of an amount, rounded down to the cent (in the buyer's disfavour by less
    than a cent, always the same way)."""
    return amount * bps // BPS


@dataclass(frozen=True)
class Adjustment:
    """One change to a line's price: `kind` is "bundle" or "coupon" (an offer may come)."""

    kind: str
    amount_minor: int
    code: str = ""

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "amount_minor": self.amount_minor}
        if self.code:
            found["code"] = self.code
        return found


@dataclass
class ShopDiscount:
    """A shop's discounts in one checkout, and how they fall on its lines."""

    bundle_minor: int = 0
    coupon_minor: int = 0
    # Per line, in the order given: its adjustments (only those above zero).
    line_adjustments: list[list[Adjustment]] = field(default_factory=list)
    # True when the floor (MIN_ITEMS_PAID_MINOR) cut a discount down.
    capped: bool = False

    @property
    def total_minor(self) -> int:
        return self.bundle_minor + self.coupon_minor

    def line_discount(self, index: int) -> int:
        return sum(a.amount_minor for a in self.line_adjustments[index])


def shop_discount(
    line_totals: Sequence[int],
    *,
    bundle_bps: int = 0,
    coupon_bps: int = 0,
    coupon_amount_minor: int = 0,
    coupon_code: str = "",
) -> ShopDiscount:
    """The bundle (a rate) then the coupon (a rate or an amount) on a shop's lines.

    `line_totals` are the lines' prices (unit price times quantity); the caller has decided
    whether the bundle and the coupon apply (0 when not)."""
    subtotal = sum(line_totals)
    room = max(subtotal - MIN_ITEMS_PAID_MINOR, 0)
    result = ShopDiscount(line_adjustments=[[] for _ in line_totals])
    bundle = percent_of(subtotal, bundle_bps)
    if bundle > room:
        bundle, result.capped = room, True
    remaining = subtotal - bundle
    coupon = percent_of(remaining, coupon_bps) + coupon_amount_minor
    if coupon > room - bundle:
        coupon, result.capped = room - bundle, True
    result.bundle_minor, result.coupon_minor = bundle, coupon
    bundle_parts = allocate(bundle, line_totals)
    left = [total - part for total, part in zip(line_totals, bundle_parts, strict=True)]
    coupon_parts = allocate(coupon, left)
    for index, (b, c) in enumerate(zip(bundle_parts, coupon_parts, strict=True)):
        if b:
            result.line_adjustments[index].append(Adjustment("bundle", b))
        if c:
            result.line_adjustments[index].append(Adjustment("coupon", c, coupon_code))
    return result
