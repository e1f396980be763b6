from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payouts.splits import BPS, Party, Role, SplitError, refund_allocation, split

SELLER = Party(Role.SELLER, "user:1")


def line(platform=800, curator=None, co_creators=(), pool=None):
    parties = [Party(Role.PLATFORM, "platform", platform), SELLER]
    if curator is not None:
        parties.append(Party(Role.CURATOR, "user:2", curator))
    for i, rate in enumerate(co_creators):
        parties.append(Party(Role.CO_CREATOR, f"user:{10 + i}", rate))
    if pool is not None:
        parties.append(Party(Role.POOL, "pool:1", pool))
    return parties


def amounts(shares):
    return {(s.party.role, s.party.key): s.amount for s in shares}


def test_a_worked_example():
    # €49.99: platform 8%, curator 10%, an idea author 10%, collective 5%; the seller the rest.
    shares = amounts(split(4999, line(800, 1000, (1000,), 500)))
    assert shares == {
        (Role.PLATFORM, "platform"): 400,  # 399.92
        (Role.CURATOR, "user:2"): 500,  # 499.9
        (Role.CO_CREATOR, "user:10"): 500,  # 499.9
        (Role.POOL, "pool:1"): 250,  # 249.95
        (Role.SELLER, "user:1"): 3349,  # 3349.33
    }
    assert sum(shares.values()) == 4999


def test_ties_go_by_the_fixed_party_order():
    # 1 cent among a 50/50 split: both remainders equal, the platform comes first.
    shares = amounts(split(1, [Party(Role.PLATFORM, "platform", 5000), SELLER]))
    assert shares == {(Role.PLATFORM, "platform"): 1, (Role.SELLER, "user:1"): 0}


def test_rates_must_leave_the_seller_its_minimum():
    with pytest.raises(SplitError):
        split(1000, line(800, 3000, (3000,), 2000), min_seller_bps=2000)
    assert (
        sum(s.amount for s in split(1000, line(800, 3000, (3000,), 1200), min_seller_bps=2000))
        == 1000
    )


@pytest.mark.parametrize(
    "parties",
    [
        [Party(Role.PLATFORM, "platform", 800)],  # no seller
        [SELLER, Party(Role.SELLER, "user:9")],  # two sellers
        [SELLER, Party(Role.PLATFORM, "platform", -1)],
        [SELLER, Party(Role.CURATOR, "user:2", 600), Party(Role.CURATOR, "user:2", 600)],
        [Party(Role.SELLER, "user:1", 100)],
    ],
)
def test_malformed_parties_are_refused(parties):
    with pytest.raises(SplitError):
        split(1000, parties)


rates = st.integers(min_value=0, max_value=3000)


@st.composite
def lines(draw):
    platform = draw(st.integers(min_value=0, max_value=2000))
    curator = draw(st.one_of(st.none(), rates))
    co_creators = draw(st.lists(st.integers(min_value=0, max_value=1500), max_size=3))
    pool = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=1000)))
    parties = line(platform, curator, tuple(co_creators), pool)
    total = sum(p.rate_bps or 0 for p in parties if p.role is not Role.SELLER)
    if total > BPS:
        parties = [p for p in parties if p.role in (Role.PLATFORM, Role.SELLER)]
    return parties


@settings(max_examples=400)
@given(gross=st.integers(min_value=0, max_value=10**9), parties=lines())
def test_parts_sum_exactly_and_each_is_within_a_cent(gross, parties):
    shares = split(gross, parties)
    assert sum(s.amount for s in shares) == gross
    rated = sum(p.rate_bps or 0 for p in parties if p.role is not Role.SELLER)
    for share in shares:
        rate = BPS - rated if share.party.role is Role.SELLER else share.party.rate_bps
        exact = Fraction(gross * rate, BPS)
        assert share.amount >= 0
        assert abs(share.amount - exact) < 1


@settings(max_examples=300)
@given(
    gross=st.integers(min_value=1, max_value=10**7),
    parties=lines(),
    cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=6),
)
def test_partial_refunds_end_where_a_full_refund_does(gross, parties, cuts):
    steps = sorted({int(gross * c) for c in cuts} | {gross})
    returned: dict = {}
    for cumulative in steps:
        step = refund_allocation(gross, parties, cumulative, returned)
        assert sum(step.values()) == cumulative - sum(returned.values())
        for key, amount in step.items():
            returned[key] = returned.get(key, 0) + amount
    assert returned == amounts(split(gross, parties))


def test_refunds_cannot_exceed_the_gross():
    with pytest.raises(SplitError):
        refund_allocation(100, line(), 101, {})
