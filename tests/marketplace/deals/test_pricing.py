"""A shop's discount over its lines, to the cent, whatever the prices and rates."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.deals.models import MIN_ITEMS_PAID_MINOR
from marketplace.deals.pricing import allocate, shop_discount

# Drawing the lists is the slow part on a busy machine: that is no finding.
RELAXED = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])

prices = st.lists(st.integers(min_value=1, max_value=2_000_000), min_size=1, max_size=12)


@RELAXED
@given(prices, st.data())
def test_an_allocated_discount_sums_exactly_and_never_exceeds_a_line(weights, data):
    discount = data.draw(st.integers(min_value=0, max_value=sum(weights)))
    parts = allocate(discount, weights)
    assert sum(parts) == discount
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))
    # Each part is within one cent of its exact proportional value.
    total = sum(weights)
    assert all(
        abs(part * total - discount * w) < total for part, w in zip(parts, weights, strict=True)
    )


@RELAXED
@given(
    st.lists(st.tuples(st.integers(1, 100_000), st.integers(1, 99)), min_size=1, max_size=10),
    st.integers(0, 9000),
    st.integers(0, 9000),
    st.integers(0, 500_000),
)
def test_bundle_then_coupon_leaves_every_line_paid_and_sums_exact(lines, bundle, rate, amount):
    totals = [price * quantity for price, quantity in lines]
    for coupon in ({"coupon_bps": rate}, {"coupon_amount_minor": amount}):
        found = shop_discount(totals, bundle_bps=bundle, coupon_code="X", **coupon)
        per_line = [found.line_discount(i) for i in range(len(totals))]
        assert sum(per_line) == found.total_minor == found.bundle_minor + found.coupon_minor
        assert all(0 <= d <= t for d, t in zip(per_line, totals, strict=True))
        subtotal = sum(totals)
        paid = subtotal - found.total_minor
        # Never below the floor (unless the items cost less than it: then no discount).
        assert paid >= min(subtotal, MIN_ITEMS_PAID_MINOR)
        assert found.bundle_minor <= subtotal * bundle // 10_000


def test_the_bundle_applies_first_and_the_coupon_to_what_remains():
    # Two items at €20 and €10: 15 % bundle = €4.50; 10 % coupon on €25.50 = €2.55.
    found = shop_discount([2000, 1000], bundle_bps=1500, coupon_bps=1000, coupon_code="TEN")
    assert (found.bundle_minor, found.coupon_minor) == (450, 255)
    assert [[a.as_dict() for a in adj] for adj in found.line_adjustments] == [
        [
            {"kind": "bundle", "amount_minor": 300},
            {"kind": "coupon", "amount_minor": 170, "code": "TEN"},
        ],
        [
            {"kind": "bundle", "amount_minor": 150},
            {"kind": "coupon", "amount_minor": 85, "code": "TEN"},
        ],
    ]


def test_a_cent_left_over_goes_to_the_largest_remainder():
    # €1 shared over three lines of 1 cent... of €3.33 each: 33.33 → one line gets the extra.
    assert allocate(100, [333, 333, 334]) == [33, 33, 34]
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]


def test_a_fixed_coupon_larger_than_the_items_is_cut_to_leave_the_floor():
    found = shop_discount([1200], coupon_amount_minor=5000, coupon_code="BIG")
    assert found.coupon_minor == 1200 - MIN_ITEMS_PAID_MINOR and found.capped


def test_nothing_is_taken_off_items_cheaper_than_the_floor():
    found = shop_discount([30], bundle_bps=9000, coupon_amount_minor=10)
    assert found.total_minor == 0


@pytest.mark.parametrize("bad", [(-1, [1]), (5, [1, 1]), (1, [0, 0]), (1, [-1, 3])])
def test_allocate_refuses_what_cannot_be_shared(bad):
    with pytest.raises(ValueError):
        allocate(*bad)
