"""Checkout sessions through the SDK (the hosted page itself is in test_emu_pages.py)."""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator import StripeError


def test_create_and_retrieve_session(h, client, emu):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    assert session.id.startswith("cs_test_")
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.amount_total == 6_000
    assert session.currency == "usd"
    assert session.url == f"{emu.public_url}/c/pay/{session.id}"
    assert session.payment_intent is None
    assert session.expires_at == session.created + 24 * 3600
    assert session.client_reference_id == "order_1"
    assert session.metadata.to_dict() == {"order": "1"}
    # The placeholder is only substituted when redirecting.
    assert session.success_url.endswith("{CHECKOUT_SESSION_ID}")
    assert client.v1.checkout.sessions.retrieve(session.id).id == session.id


def test_line_items(h, client):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("Blue mug", 2, 5_000),
        ("Shipping", 1, 1_000),
    ]
    assert items.data[0].price.unit_amount == 2_500
    expanded = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert len(expanded.line_items.data) == 2


def test_pay_session_completes_it(h, client, emu, inbox):
    client.v1.webhook_endpoints.create(
        params={"url": "https://app.example/hooks", "enabled_events": ["*"]}
    )
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    emu.pay_checkout_session(session.id, "4242424242424242", email="b@example.com")
    session = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    assert session.status == "complete"
    assert session.payment_status == "paid"
    assert session.customer_details.email == "b@example.com"
    pi = session.payment_intent
    assert pi.status == "succeeded"
    assert pi.amount == 6_000
    assert pi.transfer_group == "order_1"
    assert pi.metadata.to_dict() == {"order": "1"}
    assert pi.latest_charge.transfer_group == "order_1"
    listed = client.v1.checkout.sessions.list(params={"payment_intent": pi.id})
    assert [s.id for s in listed.data] == [session.id]
    emu.deliver_due_webhooks()
    assert inbox.types() == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]


def test_declined_then_paid(h, client, emu):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    with pytest.raises(StripeError) as exc:
        emu.pay_checkout_session(session.id, "4000000000000002")
    assert exc.value.type == "card_error"
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert session.status == "open"
    assert session.payment_intent is not None
    emu.pay_checkout_session(session.id, "4000000000000077")
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert session.status == "complete"
    assert emu.balance()["available"] == {"usd": 6_000 - 204}


def test_expire_session(h, client):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    event = client.v1.events.list(params={"type": "checkout.session.expired"}).data[0]
    assert event.data.object.id == session.id
    assert event.request.id is not None


def test_sessions_expire_with_the_clock(h, client, emu):
    session = client.v1.checkout.sessions.create(
        params=h.checkout_params(expires_at=emu.clock.now() + 3600)
    )
    emu.advance(3599)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    emu.advance(1)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    event = client.v1.events.list(params={"type": "checkout.session.expired"}).data[0]
    assert event.created == session.expires_at
    assert event.request.id is None


def test_session_validation(h, client, emu):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(params=h.checkout_params(line_items=[]))
    assert exc.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            params=h.checkout_params(expires_at=emu.clock.now() + 25 * 3600)
        )
    assert exc.value.param == "expires_at"
    bad = h.checkout_params()
    del bad["line_items"][0]["price_data"]["product_data"]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(params=bad)
    assert exc.value.param == "line_items[0][price_data][product_data][name]"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=h.checkout_params(mode="subscription"))


def test_list_sessions_pagination(h, client):
    ids = [client.v1.checkout.sessions.create(params=h.checkout_params()).id for _ in range(5)]
    page = client.v1.checkout.sessions.list(params={"limit": 2})
    assert [s.id for s in page.data] == ids[::-1][:2]
    assert page.has_more and page.url == "/v1/checkout/sessions"
    assert [s.id for s in page.auto_paging_iter()] == ids[::-1]
    assert client.v1.checkout.sessions.list(params={"status": "complete"}).data == []
