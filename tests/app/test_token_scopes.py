"""A token may do what its scopes say, and no more: "read" reads your things, "write" changes
them, "payouts" is needed (with two-step sign-in) to change where your money goes. A browser
session is not limited by scopes."""

from __future__ import annotations

from app.accounts import services
from app.extensions import db
from tests.factories import ProductFactory, TwoStepUserFactory, UserFactory


def _token(user, scopes):
    _token, secret = services.create_token(user, "scoped", scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_a_read_token_reads_but_cannot_change(app):
    bowl = ProductFactory()
    auth = _token(UserFactory(), ["read"])
    api = app.test_client()
    assert api.get("/api/v1/me", headers=auth).status_code == 200
    refused = api.post("/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id}, headers=auth)
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert "write" in refused.get_json()["title"]
    assert api.patch("/api/v1/me", json={"bio": "changed"}, headers=auth).status_code == 403


def test_a_write_token_changes_but_does_not_read_ones_own_things(app):
    bowl = ProductFactory()
    auth = _token(UserFactory(), ["write"])
    api = app.test_client()
    added = api.post("/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id}, headers=auth)
    assert added.status_code == 201
    assert api.get("/api/v1/me", headers=auth).status_code == 403
    # What anyone may read stays readable.
    assert api.get(f"/api/v1/products/{bowl.id}", headers=auth).status_code == 200


def test_payout_links_need_the_payouts_scope_and_two_step(app, client, emulator):
    api = app.test_client()
    person = TwoStepUserFactory()
    ordinary = _token(person, ["read", "write"])
    refused = api.post("/api/v1/payouts/account/onboarding", headers=ordinary)
    assert refused.status_code == 403 and "payouts" in refused.get_json()["title"]
    payouts = _token(person, ["read", "payouts"])
    # Reading one's earnings is reading: the payouts token reads too.
    assert api.get("/api/v1/earnings", headers=payouts).status_code == 200
    allowed = api.post("/api/v1/payouts/account/onboarding", headers=payouts)
    assert allowed.status_code == 200 and "/_stripe/" in allowed.get_json()["url"]


def test_without_two_step_the_payout_link_is_refused_even_to_a_session(app, client, emulator):
    from tests.conftest import login

    login(client, UserFactory())
    response = client.api("POST", "/api/v1/payouts/account/onboarding")
    assert response.status_code == 403
    assert "two-step" in response.get_json()["title"]
