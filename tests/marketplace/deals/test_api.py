"""The deals through the API: a seller's bundle and coupons, a buyer's code, problem+json."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from marketplace.order_models import Order
from tests.factories import CouponFactory, ProductFactory, ShopFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token
from tests.marketplace.shopping import ADDRESS, pay_on_hosted_page


def test_a_seller_sets_a_bundle_and_coupons_and_a_buyer_pays_with_them(app, client, emulator):
    shop = ShopFactory(name="Ana's studio", shipping_flat_minor=500)
    bowl = ProductFactory(shop=shop, price_minor=1999, stock=9)
    seller = bearer(make_token(client, shop.owner))
    api = app.test_client()
    assert api.get("/api/v1/shop/bundle", headers=seller).get_json() == {
        "min_items": None,
        "percent_bps": None,
    }
    bundle = api.put(
        "/api/v1/shop/bundle", json={"min_items": 3, "percent_bps": 1000}, headers=seller
    )
    assert bundle.status_code == 200 and bundle.get_json() == {"min_items": 3, "percent_bps": 1000}
    made = api.post(
        "/api/v1/shop/coupons",
        json={"code": "five", "kind": "amount", "amount_minor": 500, "max_uses": 2},
        headers=seller,
    )
    assert made.status_code == 201, made.get_json()
    coupon = made.get_json()
    assert coupon["code"] == "FIVE" and coupon["uses"] == 0 and coupon["status"] == "active"

    buyer = bearer(make_token(app.test_client(), UserFactory()))
    api.post(
        "/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id, "quantity": 3}, headers=buyer
    )
    cart = api.put(f"/api/v1/cart/coupons/{shop.id}", json={"code": " Five "}, headers=buyer)
    assert cart.status_code == 200, cart.get_json()
    group = cart.get_json()["shops"][0]
    # 59.97: bundle 10 % = 5.99, then 5.00 off what remains.
    assert (group["bundle_minor"], group["coupon_minor"], group["discount_minor"]) == (
        599,
        500,
        1099,
    )
    assert group["coupon"] == {"code": "FIVE", "applies": True, "problem": None}
    assert sum(line["gross_minor"] for line in group["lines"]) == 5997 - 1099
    assert cart.get_json()["total_minor"] == 5997 - 1099 + 500
    body = api.post(
        "/api/v1/checkouts", json={"shipping_address": ADDRESS}, headers=buyer
    ).get_json()
    assert body["total_minor"] == 5997 - 1099 + 500
    pay_on_hosted_page(api, body["payment_url"])
    order = db.session.scalar(select(Order))
    shown = api.get(f"/api/v1/orders/{order.id}", headers=buyer).get_json()
    assert shown["discount_minor"] == 1099 and shown["subtotal_minor"] == 4898
    assert shown["lines"][0]["gross_minor"] == 4898
    assert {a["kind"] for a in shown["lines"][0]["adjustments"]} == {"bundle", "coupon"}
    uses = api.get(f"/api/v1/shop/coupons/{coupon['id']}/uses", headers=seller).get_json()
    assert [(u["order_id"], u["discount_minor"]) for u in uses] == [(order.id, 500)]
    paused = api.patch(
        f"/api/v1/shop/coupons/{coupon['id']}", json={"status": "paused"}, headers=seller
    )
    assert paused.get_json()["status"] == "paused" and paused.get_json()["uses"] == 1


def test_bad_input_is_problem_json_with_the_reason(app, client):
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop, stock=3)
    CouponFactory(code="ELSEWHERE")
    seller = bearer(make_token(client, shop.owner))
    api = app.test_client()
    for body in (
        {"code": "X", "kind": "percent", "percent_bps": 10_000},  # 100 %: refused
        {"code": "X", "kind": "percent", "percent_bps": -5},
        {"code": "X", "kind": "amount"},
        {"code": "😀", "kind": "percent", "percent_bps": 100},
        {"code": "X" * 5000, "kind": "percent", "percent_bps": 100},
        {"code": "X", "kind": "amount", "amount_minor": 10**12},
        {"code": "X", "kind": "percent", "percent_bps": 100, "expires_at": "2000-01-01T00:00:00Z"},
    ):
        refused = api.post("/api/v1/shop/coupons", json=body, headers=seller)
        assert refused.status_code == 422, (body, refused.get_json())
        assert refused.content_type == "application/problem+json"
        assert refused.get_json()["errors"]
    assert api.get("/api/v1/shop/coupons", headers=seller).get_json() == []
    bad_bundle = api.put(
        "/api/v1/shop/bundle", json={"min_items": 1, "percent_bps": 100}, headers=seller
    )
    assert bad_bundle.status_code == 422

    buyer = bearer(make_token(app.test_client(), UserFactory()))
    api.post("/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id}, headers=buyer)
    for code, reason in (
        ("nope", "There is no coupon “NOPE”."),
        ("elsewhere", "is not a coupon of"),
    ):
        refused = api.put(f"/api/v1/cart/coupons/{shop.id}", json={"code": code}, headers=buyer)
        assert refused.status_code == 422
        assert reason in refused.get_json()["errors"]["code"][0]
    nothing = api.put(f"/api/v1/cart/coupons/{shop.id + 99}", json={"code": "x"}, headers=buyer)
    assert nothing.status_code == 404
