"""The API shows a person's own money as their pages do: earnings with each share's state,
the CSV, payouts with their Stripe transfers and reversals, and the payout account."""

from __future__ import annotations

import pytest

from app.accounts import services
from app.extensions import db
from app.models import utcnow
from tests.conftest import login
from tests.factories import TWO_STEP_SECRET, TwoStepUserFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token
from tests.marketplace.shopping import buy, orders_of, two_shops
from tests.payouts.money import check_invariants, onboard, pay_out, release_after_hold

ENDPOINTS = [
    ("GET", "/api/v1/earnings"),
    ("GET", "/api/v1/earnings/export"),
    ("GET", "/api/v1/payouts"),
    ("GET", "/api/v1/payouts/account"),
    ("POST", "/api/v1/payouts/account/onboarding"),
    ("POST", "/api/v1/payouts/account/dashboard"),
]


def payouts_token(user) -> dict[str, str]:
    """A token that may open payout links: its person has two-step sign-in on."""
    if not user.two_step_enabled:
        user.two_step_secret, user.two_step_enabled_at = TWO_STEP_SECRET, utcnow()
    _token, secret = services.create_token(user, "payouts", ["read", "payouts"])
    db.session.commit()
    return bearer(secret)


@pytest.fixture
def paid_seller(client, emulator):
    """A seller whose €28 sale (bowl and shipping) was released and paid out."""
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    (order,) = orders_of(checkout)
    client.post_form("/logout")
    seller = order.shop.owner
    onboard(seller, emulator)
    login(client, seller)
    client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"})
    client.post_form(f"/account/shop/orders/{order.id}/deliver")
    client.post_form("/logout")
    release_after_hold()
    result = pay_out()
    assert result.paid == 1
    return seller, order


def test_anonymous_callers_get_401_on_every_money_endpoint(app):
    api = app.test_client()
    for method, path in ENDPOINTS:
        response = api.open(path, method=method)
        assert response.status_code == 401, path
        assert response.mimetype == "application/problem+json", path


def test_earnings_and_totals_match_the_page(app, client, emulator, paid_seller):
    seller, order = paid_seller
    auth = bearer(make_token(client, seller))
    body = app.test_client().get("/api/v1/earnings", headers=auth).get_json()
    assert body["totals"] == {
        "currency": "eur",
        "pending_minor": 0,
        "available_minor": 0,
        "paid_minor": 2800,
        "shortfall_minor": 0,
    }
    shares = sorted((e["item"], e["role"], e["net_minor"], e["state"]) for e in body["items"])
    assert shares == [
        ("Speckled bowl", "seller", 2300, "paid"),
        ("shipping", "seller", 500, "paid"),
    ]
    assert {e["order_reference"] for e in body["items"]} == {order.reference}
    assert all(e["payout_id"] for e in body["items"])
    assert body["page"] == 1 and body["has_next"] is False


def test_payouts_carry_their_stripe_transfer(app, client, emulator, paid_seller):
    seller, _order = paid_seller
    auth = bearer(make_token(client, seller))
    body = app.test_client().get("/api/v1/payouts", headers=auth).get_json()
    (payout,) = body["items"]
    assert payout["status"] == "paid" and payout["amount_minor"] == 2800
    transfer = emulator.get(payout["stripe_transfer_id"])
    assert transfer["amount"] == 2800 and transfer["currency"] == "eur"
    assert payout["reversals"] == []
    check_invariants(emulator)


def test_the_export_is_the_pages_csv(app, client, emulator, paid_seller):
    seller, _order = paid_seller
    auth = bearer(make_token(client, seller))
    exported = app.test_client().get("/api/v1/earnings/export", headers=auth)
    assert exported.mimetype == "text/csv"
    login(client, seller)
    page_csv = client.get("/account/earnings.csv").get_data(as_text=True)
    assert exported.get_data(as_text=True) == page_csv
    assert len(page_csv.strip().splitlines()) == 3


def test_payout_account_status_and_links(app, client, emulator, paid_seller):
    seller, _order = paid_seller
    auth = payouts_token(seller)
    api = app.test_client()
    account = api.get("/api/v1/payouts/account", headers=auth).get_json()
    assert account["status"] == "enabled" and account["can_receive"] is True
    assert account["requirements"] == []
    assert account["setup_url"].endswith("/account/payouts")
    dashboard = api.post("/api/v1/payouts/account/dashboard", headers=auth)
    assert dashboard.status_code == 200 and dashboard.get_json()["url"]


def test_someone_else_sees_only_their_own_nothing(app, client, emulator, paid_seller):
    auth = bearer(make_token(client, UserFactory()))
    api = app.test_client()
    earnings = api.get("/api/v1/earnings", headers=auth).get_json()
    assert earnings["items"] == [] and earnings["totals"]["paid_minor"] == 0
    assert api.get("/api/v1/payouts", headers=auth).get_json()["items"] == []
    account = api.get("/api/v1/payouts/account", headers=auth).get_json()
    assert account["status"] == "none" and account["can_receive"] is False
    links = payouts_token(TwoStepUserFactory())
    assert api.post("/api/v1/payouts/account/dashboard", headers=links).status_code == 404
    rows = api.get("/api/v1/earnings/export", headers=auth).get_data(as_text=True)
    assert rows.strip().splitlines() == [rows.strip().splitlines()[0]]


def test_a_new_payee_gets_an_onboarding_link(app, client, emulator):
    auth = payouts_token(UserFactory())
    response = app.test_client().post("/api/v1/payouts/account/onboarding", headers=auth)
    assert response.status_code == 200
    assert "/_stripe/" in response.get_json()["url"]
