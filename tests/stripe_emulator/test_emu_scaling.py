"""A request reads what it is about, not the whole store: making a transfer, rendering a
charge or a transfer, and paging through a list cost the same however many objects exist."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from stripe_emulator import Emulator, store


class CountingJson:
    """Stands in for the store's ``json`` module: counts the objects it decodes, by type."""

    def __init__(self) -> None:
        self.decoded: Counter[str] = Counter()

    def loads(self, data: str) -> Any:
        obj = json.loads(data)
        self.decoded[str(obj.get("object"))] += 1
        return obj

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingJson]:
    counting = CountingJson()
    monkeypatch.setattr(store, "json", counting)
    yield counting


def _transfer(client: stripe.StripeClient, acct: str, charge: str, amount: int = 100) -> Any:
    return client.v1.transfers.create(
        params={
            "amount": amount,
            "currency": "usd",
            "destination": acct,
            "source_transaction": charge,
        }
    )


def _decoded_by_one_transfer(
    client: stripe.StripeClient, decodes: CountingJson, acct: str, charge: str
) -> Counter[str]:
    decodes.decoded.clear()
    _transfer(client, acct, charge)
    return Counter(decodes.decoded)


def test_a_transfer_reads_none_of_the_transfers_made_before(h, client, decodes):
    acct = h.onboarded_account()
    charges = [h.pay(10_000, pm="pm_card_bypassPending").latest_charge for _ in range(3)]
    first = _decoded_by_one_transfer(client, decodes, acct, charges[0])
    for n in range(40):
        _transfer(client, acct, charges[n % 3])
    later = _decoded_by_one_transfer(client, decodes, acct, charges[0])
    # What it reads (the destination, the charge, its balance transaction) is the same with
    # 40 transfers more, from the same charge and from others; no transfer is decoded.
    assert later == first
    assert later["transfer"] == 0


def test_the_source_charge_still_bounds_what_it_funds(h, client, emu):
    acct = h.onboarded_account()
    charge = h.pay(1_000, pm="pm_card_bypassPending").latest_charge
    other = h.pay(1_000, pm="pm_card_bypassPending").latest_charge
    for _ in range(3):
        _transfer(client, acct, charge, 300)
    _transfer(client, acct, other, 900)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _transfer(client, acct, charge, 101)
    assert refused.value.code == "balance_insufficient"
    assert "not yet transferred (100)" in str(refused.value.user_message)
    _transfer(client, acct, charge, 100)


def test_rendering_a_charge_or_a_transfer_reads_only_its_own_refunds_or_reversals(
    h, client, decodes
):
    acct = h.onboarded_account()
    paid = [h.pay(1_000, pm="pm_card_bypassPending") for _ in range(6)]
    transfers = [_transfer(client, acct, pi.latest_charge, 500) for pi in paid]
    for pi, transfer in zip(paid, transfers, strict=True):
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 100})
    decodes.decoded.clear()
    charge = client.v1.charges.retrieve(paid[0].latest_charge)
    transfer = client.v1.transfers.retrieve(transfers[0].id)
    assert [r.amount for r in charge.refunds.data] == [100]
    assert [r.amount for r in transfer.reversals.data] == [100]
    assert decodes.decoded["refund"] == 1
    assert decodes.decoded["transfer_reversal"] == 1


def test_a_page_reads_only_as_far_as_it_shows(h, client, decodes):
    acct = h.onboarded_account()
    charge = h.pay(10_000, pm="pm_card_bypassPending").latest_charge
    made = [_transfer(client, acct, charge, 10).id for _ in range(60)]
    newest_first = list(reversed(made))
    decodes.decoded.clear()
    page = client.v1.transfers.list(params={"limit": 5, "starting_after": newest_first[9]})
    assert [t.id for t in page.data] == newest_first[10:15]
    assert page.has_more
    # The five shown and one more (to know there are more): not the 60.
    assert decodes.decoded["transfer"] == 6
    decodes.decoded.clear()
    page = client.v1.transfers.list(params={"limit": 5, "ending_before": newest_first[9]})
    assert [t.id for t in page.data] == newest_first[4:9]
    assert page.has_more
    assert decodes.decoded["transfer"] == 6
    every = [t.id for t in client.v1.transfers.list(params={"limit": 7}).auto_paging_iter()]
    assert every == newest_first


def test_lists_filter_by_indexed_fields(h, client):
    one, two = h.onboarded_account(), h.onboarded_account()
    charge = h.pay(10_000, pm="pm_card_bypassPending").latest_charge
    for acct in (one, two, one):
        client.v1.transfers.create(
            params={
                "amount": 100,
                "currency": "usd",
                "destination": acct,
                "source_transaction": charge,
                "transfer_group": f"group-{acct}",
            }
        )
    assert len(client.v1.transfers.list(params={"destination": one}).data) == 2
    assert len(client.v1.transfers.list(params={"transfer_group": f"group-{two}"}).data) == 1
    assert client.v1.transfers.list(params={"destination": two, "transfer_group": "x"}).data == []


def test_a_state_file_from_before_the_indexes_gets_them_on_opening(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    emu = Emulator(db_path=path)
    client = stripe.StripeClient("sk_test_x", http_client=emu.http_client(retry_sleep=0.0))
    acct = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    emu.complete_onboarding(acct.id)
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1_000,
            "currency": "usd",
            "payment_method": "pm_card_bypassPending",
            "confirm": True,
        }
    )
    charge = str(pi.latest_charge)
    made = _transfer(client, acct.id, charge, 600)
    emu.close()
    # What an emulator from before the indexes left: the objects, and no derived tables.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE object_fields")
        conn.execute("DROP TABLE source_transfers")
    conn.close()

    reopened = Emulator(db_path=path)
    try:
        client = stripe.StripeClient("sk_test_x", http_client=reopened.http_client(retry_sleep=0.0))
        with pytest.raises(stripe.InvalidRequestError) as refused:
            _transfer(client, acct.id, charge, 401)
        assert refused.value.code == "balance_insufficient"
        listed = client.v1.transfers.list(params={"destination": acct.id})
        assert [t.id for t in listed.data] == [made.id]
    finally:
        reopened.close()
