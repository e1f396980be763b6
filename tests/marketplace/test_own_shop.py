"""A seller cannot buy from their own shop, nor review it: a self-purchase would raise the
shop's sales, stock movement and rating with the seller's own money, and pay the platform's
curators and co-creators for a sale nobody else made."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from marketplace.order_models import CartLine, Checkout, Review
from tests.conftest import login
from tests.factories import ProductFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token
from tests.marketplace.shopping import ADDRESS, add, start_checkout, two_shops
from tests.marketplace.test_orders import as_seller, bought


def _lines() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(CartLine.id))) or 0


def test_a_seller_cannot_add_their_own_product_to_the_cart(client):
    bowl = ProductFactory(title="Speckled bowl")
    login(client, bowl.shop.owner)
    response = add(client, bowl)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "your own shop" in page
    assert _lines() == 0


def test_the_product_page_tells_the_seller_instead_of_offering_to_buy(client):
    bowl = ProductFactory(title="Speckled bowl")
    login(client, bowl.shop.owner)
    page = client.get(f"/products/{bowl.id}").get_data(as_text=True)
    assert "Add to cart" not in page
    assert "This is your shop" in page
    client.post_form("/logout")
    assert "Add to cart" in client.get(f"/products/{bowl.id}").get_data(as_text=True)


def test_the_api_refuses_a_purchase_from_ones_own_shop(app, client):
    bowl = ProductFactory()
    auth = bearer(make_token(client, bowl.shop.owner))
    response = app.test_client().post(
        "/api/v1/cart/lines", json={"variant_id": bowl.variants[0].id}, headers=auth
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "your own shop" in response.get_json()["title"]
    assert _lines() == 0


def test_a_guest_cart_merged_into_the_sellers_cart_cannot_be_checked_out(client):
    bowl, jacket = two_shops()
    add(client, bowl)  # as a guest
    add(client, jacket)
    login(client, bowl.shop.owner)
    cart = client.get("/cart").get_data(as_text=True)
    assert "your own shop" in cart
    response = start_checkout(client, ADDRESS)
    db.session.commit()
    assert db.session.scalar(select(func.count(Checkout.id))) == 0
    assert "your own shop" in response.get_data(as_text=True)


def test_nobody_reviews_their_own_shop(client):
    buyer, _bowl, order, _other = bought(client)
    as_seller(client, order)
    client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"})
    client.post_form(f"/account/shop/orders/{order.id}/deliver")
    client.post_form("/logout")
    # The buyer now owns the shop they bought from (a shop handed over to a customer).
    shop = order.shop
    shop.owner_id, old_owner = buyer.id, shop.owner_id
    db.session.flush()
    UserFactory()  # keep the old owner's id from being reused
    db.session.commit()
    assert old_owner != buyer.id
    login(client, buyer)
    response = client.post_form(
        f"/orders/{order.id}/review",
        {"order_line_id": order.lines[0].id, "rating": 5, "body": "Best shop ever"},
        follow_redirects=True,
    )
    assert "your own shop" in response.get_data(as_text=True)
    db.session.commit()
    assert db.session.scalar(select(func.count(Review.id))) == 0
