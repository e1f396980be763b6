"""Sharing an amount of money in proportion to weights, to the cent.

A pure helper that every package may use (the marketplace allocates a shop's discount over
its lines with it; payouts splits a line among its parties with it). Integers only: the
exact shares are floored and the units left over are handed out one at a time by largest
remainder, ties to the earlier index, so the parts always sum to the total exactly and each
is within one unit of its exact value.
"""

from __future__ import annotations

from collections.abc import Sequence


def largest_remainder(total: int, weights: Sequence[int], denominator: int) -> list[int]:
    """`total` shared in proportion to `weights` (summing to `denominator`), to the unit:
    exact numerators floored, the units left over handed out by largest remainder, ties to
    the earlier index. No floating point is ever involved."""
    numerators = [total * weight for weight in weights]
    floors = [n // denominator for n in numerators]
    remainders = [n % denominator for n in numerators]
    left_over = total - sum(floors)
    winners = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left_over]
    for i in winners:
        floors[i] += 1
    return floors


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Share `total` by positive integer weights; the parts sum to `total` exactly, each within
    one unit of its exact value, ties to the earlier weight."""
    if total < 0 or not weights or any(w <= 0 for w in weights):
        raise ValueError("apportion needs a non-negative total and positive weights")
    return largest_remainder(total, weights, sum(weights))
