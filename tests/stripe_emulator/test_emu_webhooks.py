"""Events and signed webhook delivery with retries."""

from __future__ import annotations

import json

import pytest
import stripe

URL = "https://app.example/webhooks/stripe"


def _endpoint(client, events=("*",), **extra):
    return client.v1.webhook_endpoints.create(
        params={"url": URL, "enabled_events": list(events), **extra}
    )


def test_delivery_is_signed_and_verifiable(h, client, emu, inbox):
    endpoint = _endpoint(client, ["payment_intent.succeeded"])
    pi = h.pay(2_000, idempotency_key="pay-1")
    assert emu.deliver_due_webhooks() == 1
    url, body, headers = inbox.deliveries[0]
    assert url == URL
    assert headers["Content-Type"].startswith("application/json")
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], endpoint.secret)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.id == pi.id
    assert event.livemode is False
    assert event.api_version == emu.api_version
    assert event.request.idempotency_key == "pay-1"
    assert event.request.id.startswith("req_")
    assert "account" not in event
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_wrong")
    # Nothing left to deliver.
    assert emu.deliver_due_webhooks() == 0


def test_signature_uses_wall_clock_even_after_advancing(h, client, emu, inbox):
    endpoint = _endpoint(client)
    emu.advance(30 * 86400)
    h.pay(2_000)
    emu.deliver_due_webhooks()
    _, body, headers = inbox.deliveries[-1]
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], endpoint.secret)
    assert event.created >= emu.clock.now() - 5


def test_secret_only_revealed_on_create(client):
    endpoint = _endpoint(client)
    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in client.v1.webhook_endpoints.list().data[0]
    deleted = client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.deleted is True
    assert client.v1.webhook_endpoints.list().data == []


def test_enabled_events_filter(h, client, emu, inbox):
    _endpoint(client, ["charge.succeeded"])
    h.pay(2_000)
    emu.deliver_due_webhooks()
    assert inbox.types() == ["charge.succeeded"]
    with pytest.raises(stripe.InvalidRequestError):
        _endpoint(client, ["charge.exploded"])


def test_failed_delivery_is_retried_with_backoff(h, client, emu, inbox):
    endpoint = _endpoint(client, ["charge.succeeded"])
    inbox.status = 500
    h.pay(2_000)
    assert emu.deliver_due_webhooks() == 1
    (delivery,) = emu.deliveries()
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    assert delivery["next_attempt_at"] == delivery["created"] + 60
    assert emu.deliver_due_webhooks() == 0  # not due yet
    event = client.v1.events.retrieve(delivery["event_id"])
    assert event.pending_webhooks == 1

    inbox.status = 200
    inbox.fail_with = ConnectionRefusedError("receiver down")
    emu.advance(60)
    assert emu.deliver_due_webhooks() == 1
    (delivery,) = emu.deliveries()
    assert delivery["attempts"] == 2
    assert "ConnectionRefusedError" in delivery["attempt_history"][1]["error"]
    assert delivery["next_attempt_at"] == delivery["attempt_history"][1]["at"] + 300

    inbox.fail_with = None
    emu.advance(300)
    assert emu.deliver_due_webhooks() == 1
    (delivery,) = emu.deliveries()
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempt_history"]] == [500, None, 200]
    assert client.v1.events.retrieve(delivery["event_id"]).pending_webhooks == 0
    # Every attempt carries a fresh, valid signature.
    for _, body, headers in inbox.deliveries:
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], endpoint.secret)


def test_delivery_gives_up_after_max_attempts(h, client, emu, inbox):
    _endpoint(client, ["charge.succeeded"])
    inbox.status = 410
    h.pay(2_000)
    for _ in range(20):
        emu.deliver_due_webhooks()
        emu.advance(86400)
    (delivery,) = emu.deliveries()
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == len(emu.delivery_backoff) + 1
    assert len(inbox.deliveries) == len(emu.delivery_backoff) + 1


def test_connect_events_carry_the_account(h, client, emu, inbox):
    _endpoint(client, ["account.updated"])
    platform_only = _endpoint(client, ["account.updated"], connect=False)
    connect_only = _endpoint(client, ["account.updated"], connect=True)
    acct = h.onboarded_account()
    emu.deliver_due_webhooks()
    assert len(inbox.deliveries) == 2
    endpoints = {d["endpoint_id"] for d in emu.deliveries()}
    assert connect_only.id in endpoints and platform_only.id not in endpoints
    event = json.loads(inbox.deliveries[0][1])
    assert event["account"] == acct


def test_auto_deliver_after_each_request(h, client, emu, inbox):
    emu.auto_deliver = True
    _endpoint(client, ["payment_intent.created"])
    client.v1.payment_intents.create(params={"amount": 2_000, "currency": "usd"})
    assert inbox.types() == ["payment_intent.created"]


def test_receiver_may_call_back_into_the_emulator(h, client, emu):
    """A webhook handler that retrieves the object (as apps do) must not deadlock."""
    emu.auto_deliver = True
    seen = []

    def handler(url, body, headers):
        event = json.loads(body)
        obj = client.v1.payment_intents.retrieve(event["data"]["object"]["id"])
        seen.append((event["type"], obj.status))
        return 200

    emu.webhook_sender = handler
    _endpoint(client, ["payment_intent.succeeded"])
    h.pay(2_000)
    assert seen == [("payment_intent.succeeded", "succeeded")]


def test_events_list_and_retrieve(h, client):
    h.pay(2_000)
    events = client.v1.events.list(params={"limit": 3})
    assert [e.type for e in events.data] == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]
    one = client.v1.events.retrieve(events.data[1].id)
    assert one.data.object.object == "charge"
    assert one.pending_webhooks == 0
    assert [e.type for e in client.v1.events.list(params={"type": "charge.*"}).data] == [
        "charge.succeeded"
    ]
