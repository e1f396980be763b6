"""A sale with a shop's bundle discount and coupon: Stripe is asked for what the buyer pays,
the split is of the discounted lines, and refunds end exactly where a full refund would."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from marketplace.deals.models import CouponUse
from payouts import ledger
from payouts.models import Earning
from tests.conftest import login
from tests.factories import (
    CouponFactory,
    ProductFactory,
    ShopBundleFactory,
    ShopFactory,
    UserFactory,
)
from tests.marketplace.shopping import add, orders_of, pay_on_hosted_page, start_checkout
from tests.payouts.money import check_invariants


def _discounted_shop():
    shop = ShopFactory(name="Ana's studio", shipping_flat_minor=500)
    bowl = ProductFactory(shop=shop, title="Bowl", price_minor=2333, stock=9)
    cup = ProductFactory(shop=shop, title="Cup", price_minor=1001, stock=9)
    ShopBundleFactory(shop_id=shop.id, min_items=3, percent_bps=1500)
    CouponFactory(shop_id=shop.id, code="TEN", percent_bps=1000)
    return shop, bowl, cup


def test_a_bundle_and_a_coupon_are_paid_split_and_refunded_to_the_cent(app, client, emulator):
    shop, bowl, cup = _discounted_shop()
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl, 2)
    add(client, cup, 1)
    applied = client.post_form("/cart/coupon", {"shop_id": shop.id, "code": "  ten "})
    assert applied.status_code == 302
    page = client.get("/cart").get_data(as_text=True)
    assert "Coupon TEN applied." in page
    started = start_checkout(client)
    assert started.status_code == 303, started.get_data(as_text=True)[-1500:]
    pay_on_hosted_page(client, started.headers["Location"])
    db.session.commit()
    (order,) = orders_of(_checkout(buyer))
    # Items 56.67; bundle 15 % = 8.50; coupon 10 % of 48.17 = 4.81; paid 43.36 + 5.00.
    assert order.discount_minor == 850 + 481
    assert order.subtotal_minor == 5667 - 1331
    assert order.total_minor == 4336 + 500
    assert sum(line.gross_minor for line in order.lines) == order.subtotal_minor
    assert sum(line.discount_minor for line in order.lines) == order.discount_minor
    assert order.discount_parts == {"bundle": 850, "coupon": 481}
    session = emulator.get(order.checkout.stripe_session_id)
    assert session["amount_total"] == order.total_minor
    # Every party's share is of the discounted lines; shipping goes to the seller whole.
    for line in order.lines:
        earned = db.session.scalar(
            select(func.sum(Earning.amount_minor)).where(Earning.order_line_id == line.id)
        )
        # The rest is the platform's fee (8 %) of what was paid, within its cent.
        assert abs((line.gross_minor - earned) - line.gross_minor * 800 / 10_000) < 1
    assert ledger.balance(ledger.FEE_REVENUE) == sum(
        line.gross_minor
        - db.session.scalar(
            select(func.sum(Earning.amount_minor)).where(Earning.order_line_id == line.id)
        )
        for line in order.lines
    )
    assert db.session.scalar(select(CouponUse.status)) == "used"
    check_invariants(emulator)

    # A partial refund, then the rest: every earning ends at zero, never past the gross.
    client.post_form("/logout")
    login(client, shop.owner)
    bowl_line = next(line for line in order.lines if line.title == "Bowl")
    refused = client.post_form(
        f"/account/shop/orders/{order.id}/refund",
        {f"line-{bowl_line.id}": f"{(bowl_line.list_minor) / 100:.2f}"},
    )
    assert refused.status_code in (200, 422)  # more than was paid for the line: refused
    db.session.commit()
    assert db.session.get(type(bowl_line), bowl_line.id).refunded_minor == 0
    client.post_form(f"/account/shop/orders/{order.id}/refund", {f"line-{bowl_line.id}": "10.00"})
    client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": "kiln accident"})
    db.session.commit()
    db.session.refresh(order)
    assert order.refunded_minor == order.total_minor
    assert all(line.refunded_minor == line.gross_minor for line in order.lines)
    assert ledger.balance(ledger.FEE_REVENUE) == 0
    earnings = db.session.scalars(select(Earning).where(Earning.order_id == order.id)).all()
    assert all(e.net_minor == 0 for e in earnings)
    check_invariants(emulator)


def _checkout(buyer):
    from marketplace.order_models import Checkout

    return db.session.scalar(select(Checkout).where(Checkout.buyer_id == buyer.id))
