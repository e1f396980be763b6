"""Hosted checkout/onboarding pages and the dashboard, driven through Flask's test client."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import stripe
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

from stripe_emulator import Emulator


def _path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def web(emu):
    return emu.wsgi_app.test_client()


def test_checkout_page_pays_and_redirects(h, client, emu, web, inbox):
    client.v1.webhook_endpoints.create(
        params={
            "url": "https://app.example/hooks",
            "enabled_events": ["checkout.session.completed"],
        }
    )
    emu.auto_deliver = True
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    page = web.get(_path(session.url))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Blue mug" in html and "Shipping" in html
    assert "$60.00" in html
    assert 'value="4242 4242 4242 4242"' in html
    assert '<label for="card_number">' in html
    assert 'href="https://shop.example/cart"' in html

    resp = web.post(
        _path(session.url),
        data={"email": "buyer@example.com", "card_number": "4242 4242 4242 4242", "name": "B"},
    )
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"https://shop.example/thanks?session={session.id}"
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert session.status == "complete"
    assert session.customer_details.email == "buyer@example.com"
    # auto_deliver: the webhook went out once the page's response was produced.
    assert inbox.types() == ["checkout.session.completed"]

    done = web.get(_path(session.url)).get_data(as_text=True)
    assert "already been completed" in done


def test_checkout_page_shows_decline(h, client, web):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    resp = web.post(_path(session.url), data={"card_number": "4000000000009995"})
    assert resp.status_code == 402
    html = resp.get_data(as_text=True)
    assert 'role="alert"' in html
    assert "Your card has insufficient funds." in html
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    resp = web.post(_path(session.url), data={"card_number": "1234"})
    assert "Your card number is invalid." in resp.get_data(as_text=True)
    resp = web.post(_path(session.url), data={"card_number": "4000000000000259"})
    assert resp.status_code == 303
    assert len(client.v1.disputes.list().data) == 1


def test_checkout_page_for_expired_session(h, client, emu, web):
    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    emu.advance(24 * 3600)
    html = web.get(_path(session.url)).get_data(as_text=True)
    assert "expired" in html
    resp = web.post(_path(session.url), data={"card_number": "4242424242424242"})
    assert resp.status_code == 200
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert web.get("/c/pay/cs_test_missing").status_code == 404


def test_onboarding_page_completes_account(h, client, web, inbox, emu):
    client.v1.webhook_endpoints.create(
        params={"url": "https://app.example/hooks", "enabled_events": ["account.updated"]}
    )
    account = h.create_account()
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "https://app.example/onboard/refresh",
            "return_url": "https://app.example/onboard/done",
            "type": "account_onboarding",
        }
    )
    page = web.get(_path(link.url))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label for="business_name">' in html
    assert 'href="https://app.example/onboard/done"' in html  # leave without finishing
    resp = web.post(_path(link.url), data={"business_name": "Clay & Co", "first_name": "Ann"})
    assert resp.status_code == 303
    assert resp.headers["Location"] == "https://app.example/onboard/done"
    account = client.v1.accounts.retrieve(account.id)
    assert account.details_submitted and account.charges_enabled and account.payouts_enabled
    assert account.capabilities.transfers == "active"
    assert account.requirements.currently_due == []
    assert account.business_profile.name == "Clay & Co"
    emu.deliver_due_webhooks()
    assert inbox.types() == ["account.updated"]
    # Account links are single use: a second visit goes to refresh_url.
    again = web.get(_path(link.url))
    assert again.status_code == 303
    assert again.headers["Location"] == "https://app.example/onboard/refresh"


def test_expired_account_link_redirects_to_refresh_url(h, client, emu, web):
    account = h.create_account()
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "https://app.example/refresh",
            "return_url": "https://app.example/return",
            "type": "account_onboarding",
        }
    )
    emu.advance(301)
    resp = web.get(_path(link.url))
    assert resp.status_code == 303
    assert resp.headers["Location"] == "https://app.example/refresh"


def test_dashboard_and_express_pages(h, client, emu, web):
    acct = h.onboarded_account()
    pi = h.pay(5_000, pm="pm_card_bypassPending")
    client.v1.transfers.create(params={"amount": 1_000, "currency": "usd", "destination": acct})
    client.v1.checkout.sessions.create(params=h.checkout_params())
    html = web.get("/_emulator/dashboard").get_data(as_text=True)
    assert acct in html and pi.latest_charge in html
    assert web.get("/").status_code == 200
    obj = web.get(f"/_emulator/objects/{pi.id}")
    assert obj.status_code == 200 and "payment_intent.succeeded" in obj.get_data(as_text=True)
    login = client.v1.accounts.login_links.create(acct)
    express = web.get(_path(login.url)).get_data(as_text=True)
    assert "Pottery Co" in express and "$10.00" in express
    # Dashboard buttons are plain form posts that come back to the dashboard.
    resp = web.post("/_emulator/disputes", data={"charge": pi.latest_charge})
    assert resp.status_code == 303
    assert len(client.v1.disputes.list().data) == 1


def test_pages_work_mounted_under_a_prefix(h, client):
    emu = Emulator(public_url="http://shop.test/_stripe")
    try:
        sdk = type(client)("sk_test_x", http_client=emu.http_client())
        host = DispatcherMiddleware(Response("host app"), {"/_stripe": emu.wsgi_app})
        browser = Client(host)
        session = sdk.v1.checkout.sessions.create(params=h.checkout_params())
        assert session.url == f"http://shop.test/_stripe/c/pay/{session.id}"
        page = browser.get(_path(session.url))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f'action="/_stripe/c/pay/{session.id}"' in html
        resp = browser.post(_path(session.url), data={"card_number": "4242424242424242"})
        assert resp.status_code == 303
        dash = browser.get("/_stripe/_emulator/dashboard").get_data(as_text=True)
        assert 'href="/_stripe/_emulator/objects/' in dash
        assert 'action="/_stripe/_emulator/advance"' in dash
        # The API works through the mount too.
        api = browser.get("/_stripe/v1/balance", headers={"Authorization": "Bearer sk_test_x"})
        assert api.status_code == 200 and api.json["object"] == "balance"
    finally:
        emu.close()


def test_json_controls(h, client, emu, web):
    pi = h.pay(5_000, pm="pm_card_bypassPending")
    now = web.get("/_emulator/clock").json["now"]
    assert web.post("/_emulator/advance", json={"seconds": 100}).json["now"] >= now + 100
    dispute = web.post("/_emulator/disputes", json={"charge": pi.latest_charge}).json
    assert dispute["status"] == "needs_response"
    closed = web.post(f"/_emulator/disputes/{dispute['id']}/close", json={"won": True}).json
    assert closed["status"] == "won"
    assert web.post("/_emulator/disputes", json={"charge": "ch_nope"}).status_code == 404
    assert web.get("/_emulator/balance").json["available"] == {"usd": 5_000 - 175 - 1_500}
    assert web.post("/_emulator/deliver").json == {"attempted": 0}
    assert web.post("/_emulator/reset").json == {"ok": True}
    assert client.v1.payment_intents.list().data == []
    assert emu.clock.offset == 0


def test_without_controls_only_stripes_own_pages_answer(h):
    """Embedded in a production app, the emulator serves what Stripe itself serves (hosted
    checkout, Express onboarding and dashboard, the API) and nothing that would let anyone
    list payments, refund, inject faults or reset it."""
    emu = Emulator(public_url="http://shop.test", controls=False)
    try:
        sdk = stripe.StripeClient("sk_test_x", http_client=emu.http_client())
        web = emu.wsgi_app.test_client()
        account = sdk.v1.accounts.create(
            params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
        )
        link = sdk.v1.account_links.create(
            params={
                "account": account.id,
                "refresh_url": "https://a/r",
                "return_url": "https://a/b",
                "type": "account_onboarding",
            }
        )
        assert web.get(_path(link.url)).status_code == 200
        session = sdk.v1.checkout.sessions.create(params=h.checkout_params())
        page = web.get(_path(session.url))
        assert page.status_code == 200
        assert "_emulator" not in page.get_data(as_text=True)  # no link to the dashboard
        paid = web.post(_path(session.url), data={"card_number": "4242424242424242"})
        assert paid.status_code == 303
        charge = sdk.v1.charges.list().data[0]
        assert web.get(_path(charge.receipt_url)).status_code == 200
        for method, path in [
            ("GET", "/"),
            ("GET", "/_emulator/dashboard"),
            ("GET", f"/_emulator/objects/{charge.id}"),
            ("GET", "/_emulator/balance"),
            ("GET", "/_emulator/deliveries"),
            ("GET", "/_emulator/faults"),
            ("POST", "/_emulator/faults"),
            ("POST", "/_emulator/reset"),
            ("POST", "/_emulator/advance"),
            ("POST", "/_emulator/disputes"),
            ("POST", f"/_emulator/checkout/sessions/{session.id}/pay"),
            ("POST", f"/_emulator/accounts/{account.id}/onboard"),
        ]:
            resp = web.open(path, method=method, json={"charge": charge.id, "path_prefix": "/"})
            assert resp.status_code == 404, (method, path)
        assert emu.faults.pending() == [] and sdk.v1.disputes.list().data == []
        assert sdk.v1.charges.list().data  # nothing was reset
        # The API itself is Stripe's, behind its keys.
        api = web.get("/v1/balance", headers={"Authorization": "Bearer sk_test_x"})
        assert api.status_code == 200
    finally:
        emu.close()


def test_a_receipt_page_for_every_charge(h, client, emu, web):
    pi = h.pay(5_000)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    page = web.get(_path(charge.receipt_url))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "$50.00" in html and "4242" in html
    assert web.get("/receipts/ch_nope").status_code == 404


def test_standalone_keeps_its_controls_unless_told():
    from stripe_emulator.__main__ import parse_args

    assert parse_args([]).controls is True
    assert parse_args(["--no-controls"]).controls is False
    emu = Emulator()
    try:
        assert emu.controls is True
        assert emu.wsgi_app.test_client().get("/_emulator/dashboard").status_code == 200
    finally:
        emu.close()
