"""POST /webhooks/stripe: signatures, storage by id, processing once, retries."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import stripe
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from payouts import webhooks
from payouts.models import StripeEvent


def signed(payload: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)
    return body, {
        "Stripe-Signature": f"t={timestamp},v1={signature}",
        "Content-Type": "application/json",
    }


def event(event_id="evt_1", type_="kindred.test", **obj):
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "created": 1,
        "data": {"object": obj},
        "livemode": False,
    }


@pytest.fixture
def calls(app):
    seen: list[dict] = []
    webhooks.on(app, "kindred.test", lambda payload: seen.append(payload))
    return seen


def test_signed_event_is_stored_and_processed_once(app, client, gateway, calls):
    body, headers = signed(event(), gateway.webhook_secret)
    first = client.post("/webhooks/stripe", data=body, headers=headers)
    assert first.status_code == 200 and first.get_json()["duplicate"] is False
    replay = client.post("/webhooks/stripe", data=body, headers=headers)
    assert replay.status_code == 200 and replay.get_json()["duplicate"] is True
    assert len(calls) == 1
    stored = db.session.get(StripeEvent, "evt_1")
    assert stored.processed_at is not None and stored.attempts == 1


def test_bad_signature_is_refused_and_nothing_stored(client, gateway, calls):
    body, headers = signed(event(), "whsec_wrong")
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(select(db.func.count(StripeEvent.id))) == 0 and calls == []


def test_stale_signature_is_refused(client, gateway, calls):
    body, headers = signed(event(), gateway.webhook_secret, timestamp=int(time.time()) - 301)
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 400


def test_tampered_body_is_refused(client, gateway, calls):
    body, headers = signed(event(), gateway.webhook_secret)
    response = client.post(
        "/webhooks/stripe", data=body.replace(b"evt_1", b"evt_2"), headers=headers
    )
    assert response.status_code == 400


def test_failing_handler_is_recorded_and_retried_with_backoff(app, client, gateway):
    attempts: list[int] = []

    def flaky(payload):
        attempts.append(1)
        db.session.add(StripeEvent(id="side-effect", type="x", payload={}, stripe_created=0))
        if len(attempts) < 2:
            raise RuntimeError("database hiccup")

    webhooks.on(app, "kindred.test", flaky)
    body, headers = signed(event(), gateway.webhook_secret)
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    stored = db.session.get(StripeEvent, "evt_1")
    assert stored.processed_at is None and stored.attempts == 1
    assert "database hiccup" in stored.last_error
    assert db.session.get(StripeEvent, "side-effect") is None  # the failed attempt left nothing
    # The admins see it waiting, with its error.
    from tests.conftest import login
    from tests.factories import UserFactory

    login(client, UserFactory(is_admin=True))
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "Stripe events not processed yet" in page and "database hiccup" in page
    assert webhooks.retry_due_events() == 0  # not due yet
    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False):
        assert webhooks.retry_due_events() == 1
    db.session.expire_all()
    stored = db.session.get(StripeEvent, "evt_1")
    assert stored.processed_at is not None and stored.last_error is None
    assert db.session.get(StripeEvent, "side-effect") is not None
    assert len(attempts) == 2


def test_emulator_events_reach_the_endpoint_signed(app, client, gateway, emulator):
    received: list[str] = []
    webhooks.on(
        app, "account.updated", lambda payload: received.append(payload["data"]["object"]["id"])
    )
    account = gateway.create_express_account(
        email="ana@example.com", country="FR", idempotency_key="acct-1"
    )
    link = gateway.create_account_link(
        account=account.id,
        refresh_url="http://kindred.test/r",
        return_url="http://kindred.test/ok",
        idempotency_key="link-1",
    )
    # The person completes onboarding on the emulator's hosted page (served by the app).
    path = link.url.replace("http://kindred.test", "")
    page = client.get(path)
    assert page.status_code == 200
    import re

    form_action = re.search(r'<form[^>]*action="([^"]+)"', page.get_data(as_text=True))
    done = client.post(
        form_action.group(1) if form_action else path, data={"business_name": "Ana's studio"}
    )
    assert done.status_code in (302, 303)
    assert done.headers["Location"] == "http://kindred.test/ok"
    # Delivered after that response, through our real endpoint with a real signature.
    assert account.id in received
    stored = db.session.scalars(
        select(StripeEvent).where(StripeEvent.type == "account.updated")
    ).all()
    assert stored and all(e.processed_at for e in stored)
    assert gateway.retrieve_account(account.id).payouts_enabled is True
    assert gateway.create_login_link(account=account.id, idempotency_key="login-1").url


def test_emulated_banner_is_shown(client):
    html = client.get("/").get_data(as_text=True)
    assert "Payments are emulated" in html
