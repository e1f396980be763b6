"""A shopper buys from two shops through the pages, pays on the hosted page, sees the orders."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from marketplace.order_models import Order
from tests.browser.conftest import eventually, screenshot
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.marketplace.shopping import two_shops


def test_buy_from_two_shops_end_to_end(live_server, page):
    bowl, jacket = two_shops()
    buyer = UserFactory(handle="farid", email="farid@example.com")
    db.session.commit()

    # Browse as a guest and fill the cart from two shops.
    page.goto(f"{live_server}/products/{bowl.id}")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{live_server}/cart")
    page.goto(f"{live_server}/products/{jacket.id}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{live_server}/cart")
    assert "€95.00" in page.content()  # 2 x 25 + 5 shipping + 40 (free shipping over 30)
    screenshot(page, "cart")

    # Checking out asks to log in; the guest cart comes along.
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Email or handle").fill("farid")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/checkout")
    assert "Kindred fee" in page.content()  # where the money goes, before paying
    page.get_by_label("Full name").fill("Farid Haddad")
    page.get_by_label("Address", exact=True).fill("12 rue des Lilas")
    page.get_by_label("Postal code").fill("69003")
    page.get_by_label("City").fill("Lyon")
    page.get_by_label("Country").select_option("FR")
    screenshot(page, "checkout")
    page.get_by_role("button", name="Continue to payment").click()

    # The hosted payment page (the emulator, standing in for Stripe Checkout).
    page.wait_for_url("**/_stripe/**")
    assert "€95.00" in page.content()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/checkout/*/done")

    def orders_exist() -> bool:
        db.session.rollback()
        return db.session.scalar(select(db.func.count(Order.id))) == 2

    assert eventually(orders_exist)
    page.reload()
    assert "Your order is placed" in page.content()
    screenshot(page, "order-placed")
    page.get_by_role("link", name="See my orders").click()
    assert page.get_by_role("cell", name="Ana's studio").count() == 1
    assert page.get_by_role("cell", name="Bruno denim").count() == 1
    assert db.session.get(type(buyer), buyer.id).handle == "farid"
