"""Transfers, reversals, balances and payouts of connected accounts."""

from __future__ import annotations

import json

import pytest
import stripe


def test_transfer_needs_available_balance(h, client, emu):
    acct = h.onboarded_account()
    h.pay(10_000)  # pending only
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(params={"amount": 1_000, "currency": "usd", "destination": acct})
    assert exc.value.code == "balance_insufficient"
    emu.advance(2 * 86400)
    transfer = client.v1.transfers.create(
        params={
            "amount": 1_000,
            "currency": "usd",
            "destination": acct,
            "transfer_group": "order_1",
            "metadata": {"share": "seller"},
            "description": "Seller share",
        }
    )
    assert transfer.object == "transfer"
    assert transfer.destination == acct
    assert transfer.reversals.object == "list"
    assert transfer.reversals.data == []
    assert transfer.amount_reversed == 0 and transfer.reversed is False
    assert emu.balance()["available"] == {"usd": 9_680 - 1_000}
    assert emu.balance(acct)["available"] == {"usd": 1_000}
    bal = client.v1.balance.retrieve(options={"stripe_account": acct})
    assert bal.available[0].amount == 1_000
    payment = client.v1.charges.retrieve(
        transfer.destination_payment, options={"stripe_account": acct}
    )
    assert payment.id.startswith("py_")
    assert payment.source_transfer == transfer.id
    txns = client.v1.balance_transactions.list(options={"stripe_account": acct})
    assert [t.type for t in txns.data] == ["payment"]


def test_transfer_with_source_transaction_while_pending(h, client, emu):
    acct = h.onboarded_account()
    pi = h.pay(10_000, transfer_group="order_9")
    transfer = client.v1.transfers.create(
        params={
            "amount": 7_000,
            "currency": "usd",
            "destination": acct,
            "source_transaction": pi.latest_charge,
            "transfer_group": "order_9",
        }
    )
    assert transfer.source_transaction == pi.latest_charge
    # Funded from the pending charge: both sides stay pending until the charge settles.
    assert emu.balance() == {"available": {"usd": 0}, "pending": {"usd": 9_680 - 7_000}}
    assert emu.balance(acct) == {"available": {"usd": 0}, "pending": {"usd": 7_000}}
    second = client.v1.transfers.create(
        params={
            "amount": 3_000,
            "currency": "usd",
            "destination": acct,
            "source_transaction": pi.latest_charge,
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(
            params={
                "amount": 1,
                "currency": "usd",
                "destination": acct,
                "source_transaction": pi.latest_charge,
            }
        )
    assert exc.value.param == "amount"
    emu.advance(2 * 86400)
    assert emu.balance() == {"available": {"usd": -320}, "pending": {"usd": 0}}
    assert emu.balance(acct) == {"available": {"usd": 10_000}, "pending": {"usd": 0}}
    listed = client.v1.transfers.list(params={"transfer_group": "order_9"})
    assert [t.id for t in listed.data] == [transfer.id]
    assert len(client.v1.transfers.list(params={"destination": acct}).data) == 2
    assert client.v1.transfers.retrieve(second.id).amount == 3_000


def test_transfer_requires_active_transfers_capability(h, client, emu):
    account = h.create_account()
    h.pay(10_000, pm="pm_card_bypassPending")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(
            params={"amount": 1_000, "currency": "usd", "destination": account.id}
        )
    assert exc.value.code == "insufficient_capabilities_for_transfer"
    assert exc.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(
            params={"amount": 1_000, "currency": "usd", "destination": "acct_nope"}
        )
    assert exc.value.param == "destination"


def test_reversals_partial_and_full(h, client, emu, inbox):
    client.v1.webhook_endpoints.create(
        params={"url": "https://app.example/hooks", "enabled_events": ["transfer.reversed"]}
    )
    acct = h.onboarded_account()
    h.pay(10_000, pm="pm_card_bypassPending")
    transfer = client.v1.transfers.create(
        params={"amount": 5_000, "currency": "usd", "destination": acct}
    )
    rev = client.v1.transfers.reversals.create(
        transfer.id, params={"amount": 2_000, "metadata": {"why": "refund"}}
    )
    assert rev.object == "transfer_reversal"
    assert rev.amount == 2_000
    assert rev.transfer == transfer.id
    transfer = client.v1.transfers.retrieve(transfer.id)
    assert transfer.amount_reversed == 2_000 and transfer.reversed is False
    assert transfer.reversals.data[0].id == rev.id
    assert emu.balance(acct)["available"] == {"usd": 3_000}
    assert emu.balance()["available"] == {"usd": 9_680 - 3_000}

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 3_001})
    full = client.v1.transfers.reversals.create(transfer.id)
    assert full.amount == 3_000
    transfer = client.v1.transfers.retrieve(transfer.id)
    assert transfer.reversed is True and transfer.amount_reversed == 5_000
    listed = client.v1.transfers.reversals.list(transfer.id)
    assert [r.id for r in listed.data] == [full.id, rev.id]
    assert client.v1.transfers.reversals.retrieve(transfer.id, rev.id).amount == 2_000
    txns = client.v1.balance_transactions.list(params={"type": "transfer_refund"})
    assert sorted(t.amount for t in txns.data) == [2_000, 3_000]
    emu.deliver_due_webhooks()
    assert inbox.types() == ["transfer.reversed", "transfer.reversed"]


def test_reversal_needs_connected_balance(h, client, emu):
    acct = h.onboarded_account()
    h.pay(10_000, pm="pm_card_bypassPending")
    transfer = client.v1.transfers.create(
        params={"amount": 5_000, "currency": "usd", "destination": acct}
    )
    client.v1.payouts.create(
        params={"amount": 4_000, "currency": "usd"}, options={"stripe_account": acct}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 2_000})
    assert exc.value.code == "balance_insufficient"
    client.v1.transfers.reversals.create(transfer.id, params={"amount": 1_000})
    assert emu.balance(acct)["available"] == {"usd": 0}


def test_refund_does_not_touch_transfers(h, client, emu):
    acct = h.onboarded_account()
    pi = h.pay(10_000, pm="pm_card_bypassPending")
    client.v1.transfers.create(
        params={
            "amount": 8_000,
            "currency": "usd",
            "destination": acct,
            "source_transaction": pi.latest_charge,
        }
    )
    client.v1.refunds.create(params={"payment_intent": pi.id})
    assert emu.balance(acct)["available"] == {"usd": 8_000}
    assert emu.balance()["available"] == {"usd": 9_680 - 8_000 - 10_000}


def test_payouts(h, client, emu, inbox):
    client.v1.webhook_endpoints.create(
        params={
            "url": "https://app.example/hooks",
            "enabled_events": ["payout.paid", "payout.failed"],
        }
    )
    acct = h.onboarded_account()
    h.pay(10_000, pm="pm_card_bypassPending")
    client.v1.transfers.create(params={"amount": 6_000, "currency": "usd", "destination": acct})
    opts = {"stripe_account": acct}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.create(params={"amount": 6_001, "currency": "usd"}, options=opts)
    assert exc.value.code == "balance_insufficient"
    payout = client.v1.payouts.create(params={"amount": 4_000, "currency": "usd"}, options=opts)
    assert payout.status == "pending"
    assert payout.destination.startswith("ba_")
    assert emu.balance(acct)["available"] == {"usd": 2_000}
    emu.advance(86400)
    assert client.v1.payouts.retrieve(payout.id, options=opts).status == "paid"
    emu.deliver_due_webhooks()
    _, body, _ = inbox.deliveries[0]
    event = json.loads(body)
    assert event["type"] == "payout.paid"
    assert event["account"] == acct

    second = client.v1.payouts.create(params={"amount": 2_000, "currency": "usd"}, options=opts)
    failed = emu.fail_payout(second.id)
    assert failed["status"] == "failed"
    assert failed["failure_code"] == "account_closed"
    assert emu.balance(acct)["available"] == {"usd": 2_000}
    assert [p.id for p in client.v1.payouts.list(options=opts).data] == [second.id, payout.id]
    # The platform cannot see the connected account's payouts without the header.
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.retrieve(payout.id)
    assert exc.value.http_status == 404


def test_payouts_need_onboarding(h, client):
    account = h.create_account()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.create(
            params={"amount": 100, "currency": "usd"}, options={"stripe_account": account.id}
        )
    assert exc.value.code == "payouts_not_allowed"


def test_balance_transactions_filters(h, client, emu):
    acct = h.onboarded_account()
    pi = h.pay(10_000, pm="pm_card_bypassPending")
    transfer = client.v1.transfers.create(
        params={"amount": 1_000, "currency": "usd", "destination": acct}
    )
    charges = client.v1.balance_transactions.list(params={"type": "charge"})
    assert [t.source for t in charges.data] == [pi.latest_charge]
    by_source = client.v1.balance_transactions.list(params={"source": transfer.id})
    assert [(t.type, t.amount, t.net) for t in by_source.data] == [("transfer", -1_000, -1_000)]
    txn = client.v1.balance_transactions.retrieve(transfer.balance_transaction)
    assert txn.reporting_category == "transfer"


def test_unknown_stripe_account_is_rejected(client):
    with pytest.raises(stripe.PermissionError) as exc:
        client.v1.balance.retrieve(options={"stripe_account": "acct_doesnotexist"})
    assert exc.value.http_status == 403
