"""Stripe's documented test PaymentMethods and card numbers, and the PaymentMethod a decline
reports (in the card error and in the intent's ``last_payment_error``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import stripe

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "stripe" / "fixtures3.json"

# Stripe's testing page, "Declined payments" and "Fraud prevention": payment method, card
# number, error code, decline code.
DECLINES = [
    ("pm_card_chargeDeclined", "4000000000000002", "card_declined", "generic_decline"),
    ("pm_card_visa_chargeDeclined", "4000000000000002", "card_declined", "generic_decline"),
    (
        "pm_card_visa_chargeDeclinedInsufficientFunds",
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
    ),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
    ),
    ("pm_card_visa_chargeDeclinedLostCard", "4000000000009987", "card_declined", "lost_card"),
    ("pm_card_visa_chargeDeclinedStolenCard", "4000000000009979", "card_declined", "stolen_card"),
    ("pm_card_chargeDeclinedExpiredCard", "4000000000000069", "expired_card", "expired_card"),
    ("pm_card_visa_chargeDeclinedExpiredCard", "4000000000000069", "expired_card", "expired_card"),
    ("pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", "incorrect_cvc", "incorrect_cvc"),
    (
        "pm_card_visa_chargeDeclinedIncorrectCvc",
        "4000000000000127",
        "incorrect_cvc",
        "incorrect_cvc",
    ),
    (
        "pm_card_chargeDeclinedProcessingError",
        "4000000000000119",
        "processing_error",
        "processing_error",
    ),
    (
        "pm_card_visa_chargeDeclinedProcessingError",
        "4000000000000119",
        "processing_error",
        "processing_error",
    ),
    (
        "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
        "4000000000006975",
        "card_declined",
        "card_velocity_exceeded",
    ),
    ("pm_card_chargeDeclinedFraudulent", "4100000000000019", "card_declined", "fraudulent"),
    ("pm_card_radarBlock", "4100000000000019", "card_declined", "fraudulent"),
]


@pytest.mark.parametrize(("pm", "number", "code", "decline_code"), DECLINES)
def test_documented_decline_payment_methods(h, client, emu, pm, number, code, decline_code):
    with pytest.raises(stripe.CardError) as exc:
        h.pay(5_000, pm=pm)
    err = exc.value
    assert err.http_status == 402
    assert err.code == code
    assert err.error.decline_code == decline_code
    pi = client.v1.payment_intents.retrieve(err.error.payment_intent.id)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == code
    assert pi.last_payment_error.decline_code == decline_code
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.status == "failed"
    assert charge.failure_code == code
    assert charge.payment_method_details.card.last4 == number[-4:]
    assert emu.balance()["pending"] == {}


@pytest.mark.parametrize(("pm", "number", "code", "decline_code"), DECLINES)
def test_documented_decline_card_numbers_on_the_hosted_page(
    h, client, emu, pm, number, code, decline_code
):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    with pytest.raises(stripe_emulator_error()) as exc:
        emu.pay_checkout_session(session.id, number)
    assert exc.value.code == code
    assert exc.value.extra["decline_code"] == decline_code


def stripe_emulator_error() -> type[Exception]:
    from stripe_emulator import StripeError

    return StripeError


def test_the_decline_messages_are_stripes(h):
    expected = {
        "pm_card_visa_chargeDeclinedLostCard": "Your card was declined.",
        "pm_card_chargeDeclinedExpiredCard": "Your card has expired.",
        "pm_card_chargeDeclinedIncorrectCvc": "Your card's security code is incorrect.",
        "pm_card_chargeDeclinedProcessingError": (
            "An error occurred while processing your card. Try again in a little bit."
        ),
    }
    for pm, message in expected.items():
        with pytest.raises(stripe.CardError) as exc:
            h.pay(5_000, pm=pm)
        assert exc.value.user_message == message


def _payment_method_fixture() -> dict[str, Any]:
    if not FIXTURES.exists():
        pytest.skip(f"Stripe fixtures not found at {FIXTURES}")
    return dict(json.loads(FIXTURES.read_text())["resources"]["payment_method"])


def test_the_payment_method_of_a_decline_is_complete(h, client, emu):
    fixture = _payment_method_fixture()
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    with pytest.raises(stripe_emulator_error()):
        emu.pay_checkout_session(session.id, "4000000000009995", email="ana@example.com")
    with pytest.raises(stripe.CardError) as exc:
        h.pay(5_000, pm="pm_card_visa_chargeDeclined")
    in_error = exc.value.json_body["error"]["payment_method"]
    intents = [client.v1.payment_intents.retrieve(exc.value.error.payment_intent.id)]
    intents += [
        client.v1.payment_intents.retrieve(pi["id"])
        for pi in emu.objects("payment_intent")
        if pi["id"] != intents[0].id
    ]
    reported = [in_error] + [pi.last_payment_error.payment_method.to_dict() for pi in intents]
    for pm in reported:
        assert set(fixture) <= set(pm), sorted(set(fixture) - set(pm))
        assert set(fixture["card"]) <= set(pm["card"]), sorted(
            set(fixture["card"]) - set(pm["card"])
        )
        assert set(fixture["billing_details"]) <= set(pm["billing_details"])
        assert pm["object"] == "payment_method" and pm["type"] == "card"
        assert pm["livemode"] is False and pm["created"] > 0
    # The hosted page's payer is on the payment method, as on the charge.
    hosted = reported[-1]
    assert hosted["billing_details"]["email"] == "ana@example.com"
    assert hosted["card"]["last4"] == "9995"
    # The same payment method in the error and on the intent, and Stripe can retrieve it.
    assert in_error == intents[0].last_payment_error.payment_method.to_dict()
    assert client.v1.payment_methods.retrieve(in_error["id"]).card.last4 == "0002"
