"""Payment intents, charges, refunds and disputes through the SDK."""

from __future__ import annotations

import pytest
import stripe


def test_successful_payment_creates_charge_with_fee(h, client, emu):
    pi = h.pay(10_000, transfer_group="order_7")
    assert pi.status == "succeeded"
    assert pi.amount_received == 10_000
    charge = client.v1.charges.retrieve(
        pi.latest_charge, params={"expand": ["balance_transaction"]}
    )
    assert charge.paid and charge.captured and charge.status == "succeeded"
    assert charge.transfer_group == "order_7"
    assert charge.payment_intent == pi.id
    assert charge.payment_method_details.card.last4 == "4242"
    txn = charge.balance_transaction
    assert txn.object == "balance_transaction"
    assert txn.type == "charge"
    # 2.9% of 100.00 = 2.90, plus 0.30.
    assert txn.fee == 320
    assert txn.net == 9_680
    assert txn.fee_details[0].type == "stripe_fee"
    assert txn.status == "pending"
    assert txn.available_on == txn.created + 2 * 86400
    assert emu.balance() == {"available": {"usd": 0}, "pending": {"usd": 9_680}}


def test_fee_rounds_half_up(h, client):
    # 2.9% of 1050 = 30.45 -> 30, of 1450 = 42.05 -> 42, of 1500 = 43.5 -> 44 (half up).
    for amount, fee in [(1050, 60), (1450, 72), (1500, 74)]:
        pi = h.pay(amount)
        charge = client.v1.charges.retrieve(
            pi.latest_charge, params={"expand": ["balance_transaction"]}
        )
        assert charge.balance_transaction.fee == fee, amount


def test_pending_funds_become_available_with_the_clock(h, emu):
    h.pay(10_000)
    emu.advance(2 * 86400 - 10)
    assert emu.balance()["available"] == {"usd": 0}
    emu.advance(10)
    assert emu.balance() == {"available": {"usd": 9_680}, "pending": {"usd": 0}}


def test_bypass_pending_card_is_available_immediately(h, emu, client):
    pi = h.pay(10_000, pm="pm_card_bypassPending")
    assert emu.balance()["available"] == {"usd": 9_680}
    bal = client.v1.balance.retrieve()
    assert bal.available[0].amount == 9_680
    assert bal.available[0].currency == "usd"
    assert bal.pending[0].amount == 0
    txn = client.v1.balance_transactions.list(params={"source": pi.latest_charge}).data[0]
    assert txn.status == "available"


@pytest.mark.parametrize(
    ("pm", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ],
)
def test_declines_raise_card_error(h, client, emu, pm, decline_code, message):
    with pytest.raises(stripe.CardError) as exc:
        h.pay(5_000, pm=pm)
    err = exc.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.user_message == message
    assert err.error.decline_code == decline_code
    pi = client.v1.payment_intents.retrieve(err.error.payment_intent.id)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.decline_code == decline_code
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.status == "failed"
    assert charge.failure_code == "card_declined"
    assert [e.type for e in client.v1.events.list().data][:2] == [
        "payment_intent.payment_failed",
        "charge.failed",
    ]
    assert emu.balance()["pending"] == {}


def test_retry_after_decline_with_another_card(h, client):
    pi = client.v1.payment_intents.create(params={"amount": 2_000, "currency": "usd"})
    assert pi.status == "requires_payment_method"
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(
            pi.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert pi.status == "succeeded"
    charges = client.v1.charges.list(params={"payment_intent": pi.id})
    assert [c.status for c in charges.data] == ["succeeded", "failed"]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert exc.value.code == "payment_intent_unexpected_state"


def test_cancel_payment_intent(client):
    pi = client.v1.payment_intents.create(params={"amount": 2_000, "currency": "usd"})
    pi = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert pi.status == "canceled"
    assert pi.cancellation_reason == "abandoned"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(pi.id)


def test_amount_validation(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": 20, "currency": "usd"})
    assert exc.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 2000, "currency": "usd", "payment_method": "pm_nope"}
        )
    assert exc.value.code == "resource_missing"


def test_expand_latest_charge_balance_transaction(h, client):
    pi = h.pay(3_000)
    got = client.v1.payment_intents.retrieve(
        pi.id, params={"expand": ["latest_charge.balance_transaction"]}
    )
    assert got.latest_charge.id == pi.latest_charge
    assert got.latest_charge.balance_transaction.amount == 3_000
    listed = client.v1.payment_intents.list(params={"expand": ["data.latest_charge"]})
    assert listed.data[0].latest_charge.object == "charge"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve(pi.id, params={"expand": ["amount"]})


def test_full_and_partial_refunds(h, client, emu):
    pi = h.pay(10_000, pm="pm_card_bypassPending")
    partial = client.v1.refunds.create(
        params={"payment_intent": pi.id, "amount": 2_500, "metadata": {"reason": "chipped"}}
    )
    assert partial.status == "succeeded"
    assert partial.amount == 2_500
    assert partial.charge == pi.latest_charge
    assert partial.metadata.to_dict() == {"reason": "chipped"}
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.amount_refunded == 2_500 and charge.refunded is False
    assert charge.refunds.data[0].id == partial.id

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 7_501})
    assert exc.value.code == "amount_too_large"

    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 7_500
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.refunded is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id})
    assert exc.value.code == "charge_already_refunded"

    # Refunds are debited from the platform balance (the 3.20 fee is not returned).
    assert emu.balance()["available"] == {"usd": 9_680 - 10_000}
    txns = client.v1.balance_transactions.list(params={"type": "refund"})
    assert sorted(t.amount for t in txns.data) == [-7_500, -2_500]
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge.id}).data] == [
        rest.id,
        partial.id,
    ]
    assert client.v1.refunds.retrieve(rest.id).amount == 7_500
    events = [e.type for e in client.v1.events.list(params={"type": "charge.refunded"}).data]
    assert events == ["charge.refunded", "charge.refunded"]
    assert len(client.v1.events.list(params={"type": "refund.*"}).data) == 2


def test_dispute_card_creates_dispute_and_debits_balance(h, client, emu):
    pi = h.pay(5_000, pm="pm_card_createDispute")
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.disputed is True
    event = client.v1.events.list(params={"type": "charge.dispute.created"}).data[0]
    dispute = client.v1.disputes.retrieve(event.data.object.id)
    assert dispute.status == "needs_response"
    assert dispute.charge == charge.id
    assert dispute.amount == 5_000
    assert dispute.reason == "fraudulent"
    assert dispute.balance_transactions[0].net == -6_500
    net_charge = 5_000 - 175
    assert emu.balance() == {"available": {"usd": -6_500}, "pending": {"usd": net_charge}}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id})
    assert exc.value.code == "charge_disputed"

    closed = emu.close_dispute(dispute.id, won=True)
    assert closed["status"] == "won"
    assert emu.balance()["available"] == {"usd": -1_500}
    assert (
        client.v1.events.list(params={"type": "charge.dispute.closed"}).data[0].data.object.status
        == "won"
    )


def test_dispute_control_and_lost(h, client, emu):
    pi = h.pay(5_000, pm="pm_card_bypassPending")
    dispute = emu.create_dispute(pi.latest_charge)
    assert dispute["status"] == "needs_response"
    emu.close_dispute(dispute["id"], won=False)
    assert client.v1.disputes.retrieve(dispute["id"]).status == "lost"
    assert emu.balance()["available"] == {"usd": 5_000 - 175 - 5_000 - 1_500}
    with pytest.raises(KeyError):
        emu.create_dispute("ch_missing")
