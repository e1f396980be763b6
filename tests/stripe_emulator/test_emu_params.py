"""Decoding of Stripe's nested form encoding, checked against the SDK's own encoder."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from stripe_emulator.money import processing_fee
from stripe_emulator.params import apply_metadata, decode


def test_decode_examples():
    raw = (
        "a[b][0][c]=1&a[b][1][c]=2&expand[]=x&expand[]=y.z&metadata[k]=v&metadata[e]="
        "&line_items[0][price_data][product_data][name]=Mug&flag=true"
    )
    assert decode(raw) == {
        "a": {"b": [{"c": "1"}, {"c": "2"}]},
        "expand": ["x", "y.z"],
        "metadata": {"k": "v", "e": ""},
        "line_items": [{"price_data": {"product_data": {"name": "Mug"}}}],
        "flag": "true",
    }


def test_indices_are_ordered_numerically():
    assert decode("l[10]=k&l[2]=c&l[0]=a") == {"l": ["a", "c", "k"]}


keys = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
leaves = st.one_of(st.text(max_size=12), st.integers(-(10**9), 10**9), st.booleans())
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4),
        st.dictionaries(keys, inner, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


def _as_sent(value: Any, in_list: bool = False) -> Any:
    """What the server should get back: every scalar as the string the SDK sends."""
    if isinstance(value, bool) and not in_list:
        # (The SDK lower-cases booleans, except scalars directly inside a list get str().)
        return "true" if value else "false"
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        # A list nested in a list is encoded like a dict of its indices.
        return [_as_sent(v, in_list=not in_list) for v in value]
    return str(value)


# No deadline: timing under a loaded CI machine is not what these properties are about.
@settings(deadline=None)
@given(st.dictionaries(keys, values, min_size=1, max_size=5))
def test_decode_inverts_the_sdk_encoder(params):
    encoded = urlencode(list(_api_encode(params)))
    assert decode(encoded) == _as_sent(params)


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_fee_is_percentage_rounded_half_up_plus_fixed(amount):
    fee = processing_fee(amount, 290, 30)
    exact = amount * 290 / 10000
    assert abs((fee - 30) - exact) <= 0.5
    # Ties round up.
    if (amount * 290) % 10000 == 5000:
        assert fee - 30 > exact


def test_metadata_merge():
    assert apply_metadata({"a": "1", "b": "2"}, {"a": "", "c": "3"}) == {"b": "2", "c": "3"}
    assert apply_metadata({"a": "1"}, {}) == {}
    assert apply_metadata({"a": "1"}, None) == {"a": "1"}
