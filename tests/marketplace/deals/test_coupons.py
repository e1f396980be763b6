# ruff: noqa: RUF001 - the pages write a minus sign before a discount
"""Coupons in the cart and at checkout: the reasons a code does not apply, its uses reserved
and released like stock, and the last use claimed once when buyers race for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import utcnow
from marketplace.deals.models import Coupon, CouponUse
from marketplace.order_models import Checkout, CheckoutStatus
from tests.concurrency import at_once
from tests.conftest import login
from tests.factories import (
    CouponFactory,
    ProductFactory,
    ShopBundleFactory,
    ShopFactory,
    UserFactory,
)
from tests.marketplace.shopping import add, pay_on_hosted_page, start_checkout


def _shop_and_product(price: int = 2000, stock: int = 9):
    shop = ShopFactory(name="Ana's studio", shipping_flat_minor=500)
    return shop, ProductFactory(shop=shop, title="Bowl", price_minor=price, stock=stock)


def _apply(client, shop, code):
    return client.post_form("/cart/coupon", {"shop_id": shop.id, "code": code})


def _cart(client) -> str:
    return client.get("/cart").get_data(as_text=True)


def _uses(status: str) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(CouponUse.id)).where(CouponUse.status == status))


def test_a_code_is_matched_trimmed_and_in_any_case_and_shown_applied(client):
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="SPRING", kind="amount", percent_bps=None, amount_minor=300)
    login(client, UserFactory())
    add(client, bowl, 2)
    assert _apply(client, shop, "  spring ").status_code == 302
    page = _cart(client)
    assert "Coupon SPRING applied." in page
    assert "−€3.00" in page and "€42.00" in page  # 40.00 - 3.00 + 5.00 shipping


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda shop: None, "There is no coupon “NOPE”."),
        (lambda shop: CouponFactory(code="NOPE"), "“NOPE” is not a coupon of Ana&#39;s studio."),
        (lambda shop: CouponFactory(shop_id=shop.id, code="NOPE", status="paused"), "paused"),
        (
            lambda shop: CouponFactory(
                shop_id=shop.id, code="NOPE", expires_at=utcnow() - timedelta(days=1)
            ),
            "“NOPE” expired on",
        ),
    ],
)
def test_a_code_that_does_not_apply_says_why_and_is_not_kept(client, make, reason):
    shop, bowl = _shop_and_product()
    make(shop)
    login(client, UserFactory())
    add(client, bowl)
    _apply(client, shop, "nope")
    page = _cart(client)
    assert reason in page
    assert "Coupon NOPE applied." not in page and "−€" not in page


def test_below_the_minimum_the_cart_says_how_much_more_and_does_not_block(client):
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="BIG", min_order_minor=5000)
    login(client, UserFactory())
    add(client, bowl)
    _apply(client, shop, "big")
    page = _cart(client)
    assert "add €30.00" in page and "Check out</a>" in page
    add(client, bowl, 2)  # €60 now
    assert "Coupon BIG applied." in _cart(client)


def test_the_bundle_shows_what_one_more_item_unlocks_then_applies(client):
    shop, bowl = _shop_and_product()
    ShopBundleFactory(shop_id=shop.id, min_items=2, percent_bps=1500)
    login(client, UserFactory())
    add(client, bowl)
    assert "Add 1 more item from this shop for 15 % off its items." in _cart(client)
    add(client, bowl)
    page = _cart(client)
    assert "Bundle: 15 % off 2+ items" in page and "−€6.00" in page


def test_a_use_is_reserved_at_checkout_released_on_cancel_and_kept_when_paid(client, emulator):
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="ONCE", max_uses=1)
    login(client, UserFactory())
    add(client, bowl)
    _apply(client, shop, "once")
    started = start_checkout(client)
    assert started.status_code == 303
    assert _uses("reserved") == 1
    checkout = db.session.scalar(select(Checkout))
    client.post_form(f"/checkout/{checkout.public_id}/cancel")
    assert _uses("reserved") == 0 and _uses("released") == 1
    again = start_checkout(client)  # the use is free again
    assert again.status_code == 303
    pay_on_hosted_page(client, again.headers["Location"])
    assert _uses("used") == 1
    # Used up: another buyer is told so.
    client.post_form("/logout")
    login(client, UserFactory())
    add(client, bowl)
    _apply(client, shop, "ONCE")
    assert "“ONCE” has been used as many times as it can be." in _cart(client)


def test_a_coupon_paused_or_expired_after_it_was_applied_stops_the_checkout(client, emulator):
    shop, bowl = _shop_and_product()
    coupon = CouponFactory(shop_id=shop.id, code="SOON", expires_at=utcnow() + timedelta(minutes=1))
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl)
    _apply(client, shop, "soon")
    with time_machine.travel(utcnow() + timedelta(minutes=2)):
        refused = start_checkout(client)
        assert refused.status_code == 422
        assert "“SOON” expired on" in refused.get_data(as_text=True)
    client.post_form("/logout")
    login(client, buyer)  # (a session from the future is not one to trust)
    db.session.get(Coupon, coupon.id).expires_at = None
    db.session.get(Coupon, coupon.id).status = "paused"
    db.session.commit()
    refused = start_checkout(client)
    assert "“SOON” is paused by the shop." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Checkout.id))) == 0
    client.post_form("/cart/coupon/remove", {"shop_id": shop.id})
    assert start_checkout(client).status_code == 303  # at the full price, knowingly


def test_one_use_per_buyer(client, emulator):
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="HELLO", once_per_buyer=True)
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl)
    _apply(client, shop, "hello")
    pay_on_hosted_page(client, start_checkout(client).headers["Location"])
    add(client, bowl)
    _apply(client, shop, "hello")
    assert "You have already used “HELLO”." in _cart(client)


def test_a_second_click_on_pay_reuses_the_checkout_and_its_reservation(client, emulator):
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="ONE", max_uses=1)
    login(client, UserFactory())
    add(client, bowl)
    _apply(client, shop, "one")
    assert start_checkout(client).status_code == 303
    # A changed cart opens a new checkout: its own earlier reservation does not block it.
    add(client, bowl)
    assert start_checkout(client).status_code == 303
    assert _uses("reserved") == 1 and _uses("released") == 1


@pytest.mark.usefixtures("postgres_only")
def test_two_buyers_racing_for_the_last_use_one_gets_it(app, emulator):
    """On PostgreSQL, with real concurrency: the coupon's row lock counts the uses once."""
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="LAST", max_uses=1)
    buyers = [UserFactory() for _ in range(6)]
    clients = [app.test_client() for _ in buyers]
    for buyer_client, buyer in zip(clients, buyers, strict=True):
        login(buyer_client, buyer)
        assert add(buyer_client, bowl).status_code == 302
        assert _apply(buyer_client, shop, "last").status_code == 302
    results: list[int] = []

    def racer(buyer_client: Any) -> Callable[[], None]:
        return lambda: results.append(start_checkout(buyer_client).status_code)

    at_once(app, [racer(c) for c in clients], in_unit_of_work=False)
    assert sorted(results) == [303] + [422] * (len(clients) - 1)
    assert _uses("reserved") == 1
    assert (
        db.session.scalar(
            select(func.count(Checkout.id)).where(Checkout.status == CheckoutStatus.OPEN)
        )
        == 1
    )


def test_a_price_change_in_the_cart_reprices_the_discount(client, emulator):
    from marketplace import products as product_services
    from marketplace.models import ProductVariant

    shop, bowl = _shop_and_product(price=2000)
    CouponFactory(shop_id=shop.id, code="TEN", percent_bps=1000)
    login(client, UserFactory())
    add(client, bowl, 2)
    _apply(client, shop, "ten")
    assert "−€4.00" in _cart(client)
    variant = db.session.get(ProductVariant, bowl.variants[0].id)
    product_services.update_variant(
        shop.owner,
        bowl,
        variant.id,
        product_services.VariantInput(price_minor=3000, stock=variant.stock),
    )
    db.session.commit()
    page = _cart(client)
    assert "The price changed since you added it." in page and "−€6.00" in page
    started = start_checkout(client)
    assert started.status_code == 303
    checkout = db.session.scalar(select(Checkout))
    assert (checkout.subtotal_minor, checkout.discount_minor) == (5400, 600)


def test_a_code_entered_as_a_guest_comes_along_at_log_in(client):
    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="GUEST", percent_bps=1000)
    add(client, bowl)
    assert _apply(client, shop, "guest").status_code == 302
    assert "Coupon GUEST applied." in _cart(client)
    login(client, UserFactory())
    assert "Coupon GUEST applied." in _cart(client)


def test_a_newer_checkout_of_the_cart_gives_the_older_ones_coupon_back(app, client, emulator):
    """Two starts of a changed cart (the older checkout not closed yet, as when its close
    fails): the coupon is held once, by the newer checkout."""
    from app.uow import unit_of_work
    from marketplace import cart as carts
    from marketplace import checkout as checkouts
    from tests.marketplace.shopping import ADDRESS

    shop, bowl = _shop_and_product()
    CouponFactory(shop_id=shop.id, code="ONE", max_uses=1)
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl)
    _apply(client, shop, "one")
    with unit_of_work():
        first = checkouts.start(buyer, ADDRESS).checkout.id
    with unit_of_work():
        carts.add(buyer, bowl.variants[0].id, 1)
    with unit_of_work():
        second = checkouts.start(buyer, ADDRESS).checkout.id
    assert first != second
    held = db.session.scalars(
        select(CouponUse.checkout_id).where(CouponUse.status.in_(("reserved", "used")))
    ).all()
    assert held == [second]
