# ruff: noqa: RUF001 - the pages write a minus sign before a discount
"""A shopper applies a shop's coupon in the cart (with its bundle discount), sees the split of
what they pay, and pays the discounted total on the hosted page; at phone and laptop sizes."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from marketplace.order_models import Order
from tests.browser.conftest import eventually, log_in, overflow, screenshot
from tests.factories import (
    CouponFactory,
    ProductFactory,
    ShopBundleFactory,
    ShopFactory,
    UserFactory,
)


def test_apply_a_coupon_in_the_cart_and_pay_the_discounted_total(live_server, page):
    shop = ShopFactory(name="Ana's studio", shipping_flat_minor=500)
    bowl = ProductFactory(shop=shop, title="Speckled bowl", price_minor=2500, stock=5)
    ShopBundleFactory(shop_id=shop.id, min_items=2, percent_bps=1000)
    CouponFactory(shop_id=shop.id, code="WELCOME10", percent_bps=1000)
    buyer = UserFactory(handle="farid", email="farid@example.com")
    db.session.commit()
    log_in(page, live_server, buyer)

    page.goto(f"{live_server}/products/{bowl.id}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{live_server}/cart")
    # One more bowl unlocks the shop's bundle discount: the cart says so.
    assert "Add 1 more item from this shop for 10 % off its items." in page.content()
    screenshot(page, "cart-bundle-nudge")
    page.get_by_label("Quantity of Speckled bowl").fill("2")
    page.get_by_role("button", name="Update").click()
    page.wait_for_url(f"{live_server}/cart")
    # A mistyped code says why it does not apply.
    page.get_by_label("Coupon code for Ana's studio").fill("welcome")
    page.get_by_role("button", name="Apply").click()
    assert "There is no coupon “WELCOME”." in page.content()
    page.get_by_label("Coupon code for Ana's studio").fill(" welcome10 ")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{live_server}/cart*")
    content = page.content()
    assert "Coupon WELCOME10 applied." in content
    # €50: bundle 10 % = €5.00, coupon 10 % of €45 = €4.50; + €5 shipping = €45.50.
    assert "−€5.00" in content and "−€4.50" in content and "€45.50" in content
    assert overflow(page) == 0
    screenshot(page, "cart-coupon")

    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(f"{live_server}/checkout")
    content = page.content()
    assert "every share below is of what you pay" in content and "Kindred fee" in content
    page.get_by_label("Full name").fill("Farid Haddad")
    page.get_by_label("Address", exact=True).fill("12 rue des Lilas")
    page.get_by_label("Postal code").fill("69003")
    page.get_by_label("City").fill("Lyon")
    page.get_by_label("Country").select_option("FR")
    assert overflow(page) == 0
    screenshot(page, "checkout-coupon")
    page.get_by_role("button", name="Continue to payment").click()

    page.wait_for_url("**/_stripe/**")
    assert "€45.50" in page.content()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/checkout/*/done")

    def paid_order() -> Order | None:
        db.session.rollback()
        return db.session.scalar(select(Order))

    order = eventually(paid_order)
    assert order is not None and (order.discount_minor, order.total_minor) == (950, 4550)
    page.goto(f"{live_server}/orders/{order.id}")
    content = page.content()
    assert "Coupon WELCOME10" in content and "−€4.50" in content and "Bundle discount" in content
    screenshot(page, "order-coupon")
