"""The split engine: how one order line's money is shared, to the cent.

`split(gross, parties)` is a pure function. Every party but the seller has a rate in basis
points; the seller gets the rest. Each party's exact share (gross * rate / 10 000, or the rest)
is floored, and the cents left over are handed out one at a time by largest remainder, ties
broken by a fixed party order — so the parts always sum to the gross exactly, each is within
one cent of its exact value, and none is negative.

`refund_allocation(...)` allocates a refund step: the same rates applied to the *cumulative*
refunded amount, minus what each party has already given back. A line refunded in several
steps therefore ends exactly where one full refund would. (Largest remainder is not
monotone — the Alabama paradox — so a step can hand one party a cent back; that is recorded
like any other movement, and the totals still end exact.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.apportion import largest_remainder

BPS = 10_000


class Role(StrEnum):
    PLATFORM = "platform"
    CURATOR = "curator"
    CO_CREATOR = "co_creator"
    POOL = "pool"
    SELLER = "seller"


# Ties in the left-over cents go to the earlier role in this order.
ROLE_ORDER = (Role.PLATFORM, Role.CURATOR, Role.CO_CREATOR, Role.POOL, Role.SELLER)


class SplitError(ValueError):
    pass


@dataclass(frozen=True)
class Party:
    """One party to a line: its role, a stable key (who), and its rate (None for the seller)."""

    role: Role
    key: str
    rate_bps: int | None = None


@dataclass(frozen=True)
class Share:
    party: Party
    amount: int


def _check(gross: int, parties: Sequence[Party], min_seller_bps: int) -> None:
    if gross < 0:
        raise SplitError("the gross of a line cannot be negative")
    sellers = [p for p in parties if p.role is Role.SELLER]
    if len(sellers) != 1:
        raise SplitError("a line has exactly one seller")
    if sellers[0].rate_bps is not None:
        raise SplitError("the seller gets the rest; it has no rate")
    keys = [(p.role, p.key) for p in parties]
    if len(set(keys)) != len(keys):
        raise SplitError("a party appears twice in one line")
    total = 0
    for party in parties:
        if party.role is Role.SELLER:
            continue
        if party.rate_bps is None or party.rate_bps < 0 or party.rate_bps > BPS:
            raise SplitError(f"the rate of {party.role} must be between 0 and {BPS} bps")
        total += party.rate_bps
    if total > BPS - min_seller_bps:
        raise SplitError(
            f"the rates sum to {total} bps; the seller must keep at least {min_seller_bps} bps"
        )


def ordered(parties: Sequence[Party]) -> list[Party]:
    """Parties in the fixed order: by role, then by key (so co-creators are stable too)."""
    return sorted(parties, key=lambda p: (ROLE_ORDER.index(p.role), p.key))


def split(gross: int, parties: Sequence[Party], *, min_seller_bps: int = 0) -> list[Share]:
    """Share `gross` (minor units) among `parties`; the shares sum to `gross` exactly."""
    _check(gross, parties, min_seller_bps)
    parties = ordered(parties)
    rated_bps = sum(p.rate_bps or 0 for p in parties if p.role is not Role.SELLER)
    weights = [BPS - rated_bps if p.role is Role.SELLER else (p.rate_bps or 0) for p in parties]
    amounts = largest_remainder(gross, weights, BPS)
    return [Share(party, amount) for party, amount in zip(parties, amounts, strict=True)]


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Share `total` by positive integer weights; the parts sum to `total` exactly, each within
    one unit of its exact value, ties to the earlier weight."""
    if total < 0 or not weights or any(w <= 0 for w in weights):
        raise SplitError("apportion needs a non-negative total and positive weights")
    return largest_remainder(total, weights, sum(weights))


def refund_allocation(
    gross: int,
    parties: Sequence[Party],
    cumulative_refunded: int,
    already_returned: Mapping[tuple[Role, str], int],
) -> dict[tuple[Role, str], int]:
    """What each party gives back for a refund step, keyed by (role, key).

    `cumulative_refunded` includes this step; `already_returned` is what each party gave back
    in earlier steps. A value can be negative by a cent (see the module's note).
    """
    if not 0 <= cumulative_refunded <= gross:
        raise SplitError("a line cannot be refunded more than its gross")
    target = split(cumulative_refunded, parties)
    return {
        (s.party.role, s.party.key): s.amount - already_returned.get((s.party.role, s.party.key), 0)
        for s in target
    }
