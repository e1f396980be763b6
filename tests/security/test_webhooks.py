"""Stripe webhooks as an attacker sees them: the endpoint takes no CSRF token and no login, so
the signature is all that stands between a forged "checkout paid" and free goods.

- forged, stale (a captured delivery replayed later), tampered or malformed signatures get
  400 and leave nothing behind: no stored event, no order, no ledger entry;
- the same event delivered again (Stripe retries; an attacker replays within the window) is
  acknowledged and changes nothing;
- two deliveries of one event at the same moment are handled once (PostgreSQL).
"""

from __future__ import annotations

import json
import time
from typing import Any

import stripe
from sqlalchemy import func, select

from app.extensions import db
from marketplace.models import Product
from marketplace.order_models import Checkout, Order
from payouts.models import Earning, JournalEntry, StripeEvent
from tests.concurrency import at_once
from tests.conftest import login
from tests.factories import ProductFactory, UserFactory
from tests.marketplace.shopping import add, buy, start_checkout

WEBHOOK = "/webhooks/stripe"
TOLERANCE = 300  # seconds, as Stripe's libraries use


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)
    return f"t={timestamp},v1={digest}"


def deliver(client: Any, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(WEBHOOK, data=body, headers=headers)


def counts() -> dict[str, int]:
    """What a processed payment leaves behind."""
    db.session.commit()
    models = {
        "events": StripeEvent,
        "orders": Order,
        "journal": JournalEntry,
        "earnings": Earning,
    }
    found = {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in models.items()
    }
    found["processed"] = (
        db.session.scalar(select(func.count()).where(StripeEvent.processed_at.isnot(None))) or 0
    )
    found["stock"] = db.session.scalar(select(func.sum(Product.stock_total))) or 0
    return found


def open_checkout(client: Any) -> Checkout:
    """A buyer at Stripe's payment page, not paid yet."""
    login(client, UserFactory())
    assert add(client, ProductFactory(price_minor=2500, stock=3)).status_code == 302
    assert start_checkout(client).status_code == 303
    db.session.commit()
    checkout = db.session.scalar(select(Checkout).order_by(Checkout.id.desc()))
    assert checkout is not None and checkout.status == "open"
    return checkout


def paid_event(checkout: Checkout, event_id: str = "evt_forged") -> bytes:
    """The event Stripe sends when this checkout is paid: exactly what a forger would send."""
    session = {
        "id": checkout.stripe_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": checkout.total_minor,
        "currency": checkout.currency,
        "payment_intent": "pi_forged",
        "client_reference_id": checkout.public_id,
        "metadata": {"checkout": checkout.public_id},
    }
    event = {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def test_forged_stale_and_tampered_deliveries_are_refused_and_leave_nothing(app, client, gateway):
    checkout = open_checkout(client)
    client.post_form("/logout")
    body = paid_event(checkout)
    secret = gateway.webhook_secret
    now = int(time.time())
    good = sign(body, secret)
    digest = good.partition(",v1=")[2]
    attempts = {
        "no signature": None,
        "empty header": "",
        "garbage header": "not a signature",
        "another endpoint's secret": sign(body, "whsec_someone_else"),
        "the secret of no one": sign(body, ""),
        "stale: a captured delivery replayed later": sign(body, secret, now - TOLERANCE - 5),
        "dated an hour ahead: replayable for an hour": sign(body, secret, now + 3600),
        "dated just past the tolerance ahead": sign(body, secret, now + TOLERANCE + 5),
        "timestamp swapped after signing": f"t={now + 1},v1={digest}",
        "only a v0 (test) scheme": f"t={now},v0={digest}",
        "signature of another body": sign(body.replace(b"paid", b"unpaid"), secret),
    }
    before = counts()
    for name, signature in attempts.items():
        response = deliver(client, body, signature)
        assert response.status_code == 400, (name, response.status_code)
        assert response.mimetype == "application/problem+json", name
        assert counts() == before, name
    tampered = body.replace(b"pi_forged", b"pi_altered")
    assert tampered != body
    assert deliver(client, tampered, good).status_code == 400
    assert counts() == before
    db.session.refresh(checkout)
    assert checkout.status == "open"

    # The control: the same body, truly signed, is what pays the checkout. So each refusal
    # above is the signature check at work, not a payload the app would ignore anyway.
    assert deliver(client, body, sign(body, secret)).status_code == 200
    db.session.commit()
    db.session.refresh(checkout)
    assert checkout.status == "paid"
    assert counts()["orders"] == before["orders"] + 1


def test_a_replayed_event_is_acknowledged_and_changes_nothing(app, client, gateway):
    """Every event of a real purchase delivered again, as Stripe's retries (or an attacker
    within the five minutes) would: each is answered "duplicate" and nothing moves."""
    buy(client, UserFactory(), ProductFactory(price_minor=4000, stock=2))
    client.post_form("/logout")
    stored = db.session.scalars(select(StripeEvent).order_by(StripeEvent.received_at)).all()
    assert "checkout.session.completed" in {event.type for event in stored}
    assert all(event.processed_at is not None for event in stored)
    payloads = {event.id: event.payload for event in stored}
    before = counts()
    assert before["orders"] == 1 and before["journal"] > 0
    for _round in range(2):
        for event_id, payload in payloads.items():
            body = json.dumps(payload).encode()
            response = deliver(client, body, sign(body, gateway.webhook_secret))
            assert response.status_code == 200, event_id
            assert response.get_json() == {"received": True, "duplicate": True}, event_id
    assert counts() == before

    # The same id with other contents (a forger with the secret, or a bug): still "seen".
    completed = next(p for p in payloads.values() if p["type"] == "checkout.session.completed")
    altered = {**completed, "data": {"object": {**completed["data"]["object"], "id": "cs_x"}}}
    body = json.dumps(altered).encode()
    assert deliver(client, body, sign(body, gateway.webhook_secret)).get_json()["duplicate"]
    db.session.commit()
    assert db.session.get(StripeEvent, completed["id"]).payload == completed
    assert counts() == before


def test_two_deliveries_of_one_event_at_once_are_handled_once(app, client, gateway, postgres_only):
    checkout = open_checkout(client)
    client.post_form("/logout")
    body = paid_event(checkout, "evt_twice")
    signature = sign(body, gateway.webhook_secret)
    before = counts()
    answers: list[int] = []

    def send() -> None:
        answers.append(deliver(app.test_client(), body, signature).status_code)

    db.session.commit()
    at_once(app, [send, send], in_unit_of_work=False)  # holding no transaction meanwhile
    assert answers == [200, 200]
    after = counts()
    assert after["events"] == before["events"] + 1
    assert after["orders"] == before["orders"] + 1
    db.session.refresh(checkout)
    assert checkout.status == "paid"
