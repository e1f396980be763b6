from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from marketplace.order_models import Checkout, Order
from tests.factories import UserFactory
from tests.marketplace.helpers import bearer, make_token
from tests.marketplace.shopping import ADDRESS, pay_on_hosted_page, two_shops


def test_cart_checkout_and_orders_through_the_api(app, client, emulator):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    auth = bearer(make_token(client, buyer))
    api = app.test_client()
    added = api.post(
        "/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id, "quantity": 2}, headers=auth
    )
    assert added.status_code == 201
    api.post("/api/v1/cart/lines", json={"variant_id": jacket.variants[0].id}, headers=auth)
    cart = api.get("/api/v1/cart", headers=auth).get_json()
    assert cart["total_minor"] == 2 * 2500 + 500 + 4000 and cart["can_check_out"]
    line_id = cart["shops"][0]["lines"][0]["id"]
    assert (
        api.patch(f"/api/v1/cart/lines/{line_id}", json={"quantity": 1}, headers=auth).get_json()[
            "subtotal_minor"
        ]
        == 6500
    )
    started = api.post("/api/v1/checkouts", json={"shipping_address": ADDRESS}, headers=auth)
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert body["status"] == "open" and body["payment_url"] and body["total_minor"] == 7000
    pay_on_hosted_page(api, body["payment_url"])
    status = api.get(f"/api/v1/checkouts/{body['id']}", headers=auth).get_json()
    assert status["status"] == "paid" and len(status["order_ids"]) == 2
    orders = api.get("/api/v1/orders", headers=auth).get_json()
    assert {o["reference"] for o in orders["items"]} == {
        o.reference for o in db.session.scalars(select(Order))
    }
    assert api.get(f"/api/v1/orders/{status['order_ids'][0]}", headers=auth).get_json()["lines"][0][
        "title"
    ]


def test_seller_api_ships_and_refunds(app, client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    buyer_auth = bearer(make_token(client, buyer))
    api = app.test_client()
    api.post("/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id}, headers=buyer_auth)
    body = api.post(
        "/api/v1/checkouts", json={"shipping_address": ADDRESS}, headers=buyer_auth
    ).get_json()
    pay_on_hosted_page(api, body["payment_url"])
    order = db.session.scalar(select(Order))
    seller_auth = bearer(make_token(app.test_client(), bowl.shop.owner))
    listing = api.get("/api/v1/shop/orders?status=paid", headers=seller_auth).get_json()
    assert [o["id"] for o in listing["items"]] == [order.id]
    # The buyer cannot act as the seller, and the seller cannot see others' orders.
    assert (
        api.post(
            f"/api/v1/shop/orders/{order.id}/ship", json={"carrier": "DHL"}, headers=buyer_auth
        ).status_code
        == 403
    )
    too_much = api.post(
        f"/api/v1/shop/orders/{order.id}/refunds",
        json={"lines": [{"order_line_id": order.lines[0].id, "amount_minor": 2501}]},
        headers=seller_auth,
    )
    assert too_much.status_code == 422 and too_much.mimetype == "application/problem+json"
    refund = api.post(
        f"/api/v1/shop/orders/{order.id}/refunds",
        json={
            "lines": [{"order_line_id": order.lines[0].id, "amount_minor": 500}],
            "reason": "scratch",
        },
        headers=seller_auth,
    )
    assert refund.status_code == 201 and refund.get_json()["status"] == "succeeded"
    shipped = api.post(
        f"/api/v1/shop/orders/{order.id}/ship",
        json={"carrier": "DHL", "tracking_number": "X1"},
        headers=seller_auth,
    )
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "shipped"
    confirmed = api.post(f"/api/v1/orders/{order.id}/confirm-delivery", headers=buyer_auth)
    assert confirmed.get_json()["status"] == "delivered"
    review = api.post(
        f"/api/v1/orders/{order.id}/reviews",
        json={"order_line_id": order.lines[0].id, "rating": 5, "body": "Great"},
        headers=buyer_auth,
    )
    assert review.status_code == 201


def test_bad_shapes_are_problem_json(app, client):
    auth = bearer(make_token(client, UserFactory()))
    api = app.test_client()
    response = api.post("/api/v1/cart/lines", json={"variant_id": "x", "quantity": 0}, headers=auth)
    assert response.status_code == 422 and set(response.get_json()["errors"]) >= {
        "variant_id",
        "quantity",
    }
    response = api.post("/api/v1/checkouts", json={"shipping_address": {"name": "A"}}, headers=auth)
    assert response.status_code == 422
    assert db.session.scalar(select(db.func.count(Checkout.id))) == 0
    assert api.get("/api/v1/cart").status_code == 401
