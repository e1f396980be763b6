# ruff: noqa: RUF001 - the pages write a minus sign before a discount
"""The seller's discounts page, and the discount on the order pages and e-mails."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from marketplace.deals.models import Coupon, ShopBundle
from marketplace.order_models import Order
from tests.conftest import login
from tests.factories import (
    CouponFactory,
    ProductFactory,
    ShopBundleFactory,
    ShopFactory,
    UserFactory,
)
from tests.marketplace.shopping import add, pay_on_hosted_page, start_checkout


def test_a_seller_sets_a_bundle_creates_pauses_and_resumes_a_coupon(client):
    shop = ShopFactory(name="Ana's studio")
    login(client, shop.owner)
    page = client.get("/account/shop/deals").get_data(as_text=True)
    assert "No bundle discount now." in page and "You have no coupons yet." in page
    assert "the bundle comes off first and the coupon applies to what remains" in page
    saved = client.post_form(
        "/account/shop/deals/bundle", {"bundle-min_items": "3", "bundle-percent": "12,5"}
    )
    assert saved.status_code == 302
    bundle = db.session.scalar(select(ShopBundle))
    assert (bundle.min_items, bundle.percent_bps) == (3, 1250)
    made = client.post_form(
        "/account/shop/deals/coupons",
        {
            "code": " summer-25 ",
            "kind": "amount",
            "amount": "4.50",
            "min_order": "20",
            "max_uses": "10",
            "expires_on": "2099-06-30",
            "once_per_buyer": "y",
        },
    )
    assert made.status_code == 302, made.get_data(as_text=True)[-3000:]
    coupon = db.session.scalar(select(Coupon))
    assert (coupon.code, coupon.amount_minor, coupon.min_order_minor, coupon.max_uses) == (
        "SUMMER-25",
        450,
        2000,
        10,
    )
    assert coupon.once_per_buyer and coupon.expires_at.date().isoformat() == "2099-07-01"
    page = client.get("/account/shop/deals").get_data(as_text=True)
    assert "SUMMER-25" in page and "€4.50 off" in page and "0 / 10" in page
    client.post_form(f"/account/shop/deals/coupons/{coupon.id}/status", {"status": "paused"})
    db.session.refresh(coupon)
    assert coupon.status == "paused"
    client.post_form(f"/account/shop/deals/coupons/{coupon.id}/status", {"status": "active"})
    db.session.refresh(coupon)
    assert coupon.status == "active"
    # Turning the bundle off.
    client.post_form("/account/shop/deals/bundle", {"bundle-min_items": "", "bundle-percent": ""})
    assert db.session.scalar(select(ShopBundle)) is None


def test_bad_coupons_are_form_errors_and_nothing_is_kept(client):
    shop = ShopFactory()
    CouponFactory(shop_id=shop.id, code="TAKEN")
    login(client, shop.owner)
    for form, message in (
        (
            {"code": "taken", "kind": "percent", "percent": "10"},
            "already has a coupon with this code",
        ),
        ({"code": "FULL", "kind": "percent", "percent": "100"}, "between 0.01 % and 90 %"),
        ({"code": "NEG", "kind": "amount", "amount": "-3"}, "above zero"),
        ({"code": "héllo wörld", "kind": "percent", "percent": "10"}, "letters, digits"),
        ({"code": "X" * 500, "kind": "percent", "percent": "10"}, "Field cannot be longer"),
        (
            {"code": "OLD", "kind": "percent", "percent": "10", "expires_on": "2001-01-01"},
            "in the future",
        ),
    ):
        answer = client.post_form("/account/shop/deals/coupons", form)
        assert answer.status_code == 422, form
        assert message in answer.get_data(as_text=True), (form, message)
    assert db.session.query(Coupon).count() == 1
    bad = client.post_form(
        "/account/shop/deals/bundle", {"bundle-min_items": "1", "bundle-percent": "10"}
    )
    assert bad.status_code == 422


def test_another_seller_sees_nothing_of_a_coupon(client):
    coupon = CouponFactory()
    login(client, ShopFactory().owner)
    assert client.get(f"/account/shop/deals/coupons/{coupon.id}").status_code == 404
    client.post_form(f"/account/shop/deals/coupons/{coupon.id}/status", {"status": "paused"})
    assert db.session.get(Coupon, coupon.id).status == "active"


def test_orders_and_emails_show_the_price_the_discount_and_what_was_paid(client, emulator, outbox):
    shop = ShopFactory(name="Ana's studio", shipping_flat_minor=500)
    bowl = ProductFactory(shop=shop, title="Bowl", price_minor=2000, stock=9)
    ShopBundleFactory(shop_id=shop.id, min_items=2, percent_bps=1000)
    coupon = CouponFactory(
        shop_id=shop.id, code="TEN", kind="amount", percent_bps=None, amount_minor=1000
    )
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl, 2)
    client.post_form("/cart/coupon", {"shop_id": shop.id, "code": "ten"})
    checkout_page = client.get("/checkout").get_data(as_text=True)
    assert "Bundle: 10 % off 2+ items" in checkout_page and "Coupon TEN" in checkout_page
    assert "every share below is of what you pay" in checkout_page
    pay_on_hosted_page(client, start_checkout(client).headers["Location"])
    order = db.session.scalar(select(Order))
    # 40.00 - 4.00 bundle - 10.00 coupon = 26.00, + 5.00 shipping.
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (2600, 1400, 3100)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Items before discounts" in page and "€40.00" in page
    assert "Bundle discount" in page and "−€4.00" in page
    assert "Coupon TEN" in page and "−€10.00" in page and "€31.00" in page
    mails = {m["Subject"]: m.get_content() for m in outbox()}
    confirmation = next(body for subject, body in mails.items() if "confirmed" in subject)
    assert "Discounts: −€14.00 (coupon TEN)" in confirmation and "€31.00" in confirmation
    client.post_form("/logout")
    login(client, shop.owner)
    seller_page = client.get(f"/account/shop/orders/{order.id}").get_data(as_text=True)
    assert "Coupon TEN" in seller_page and "−€10.00" in seller_page
    uses = client.get(f"/account/shop/deals/coupons/{coupon.id}").get_data(as_text=True)
    assert order.reference in uses and "€10.00" in uses
