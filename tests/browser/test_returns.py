"""A return in a browser, on a phone (390x844) and a laptop (1280x800): the buyer asks from
her order page, the seller accepts from his list of returns and marks it received, and the
buyer sees it refunded. No page scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest

from app.extensions import db
from marketplace.order_models import Order
from marketplace.returns.models import ReturnRequest, ReturnStatus
from tests.browser.conftest import overflow, screenshot
from tests.marketplace.returns.flow import delivered_order


@pytest.fixture(params=["phone", "laptop"])
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    return (
        {"width": 390, "height": 844}
        if request.param == "phone"
        else {
            "width": 1280,
            "height": 800,
        }
    )


def test_a_buyer_returns_a_bowl_and_is_refunded(
    app: Any, client: Any, open_as: Any, live_server: str, viewport: dict[str, int]
) -> None:
    order = delivered_order(client, quantity=2)
    order_id, reference = order.id, order.reference
    buyer, seller = order.buyer, order.shop.owner
    client.post_form("/logout")
    size = "phone" if viewport["width"] < 500 else "laptop"

    shopper = open_as(buyer)
    shopper.goto(f"{live_server}/orders/{order_id}")
    assert shopper.get_by_text("Returns accepted within 30 days of delivery").count() == 1
    shopper.get_by_role("link", name="Return items").click()
    shopper.wait_for_load_state()
    assert shopper.get_by_role("heading", name="Return items").count() == 1
    shopper.get_by_label("Speckled bowl").fill("1")
    shopper.get_by_label("Why are you returning it?").select_option("damaged")
    shopper.get_by_label("Tell the seller more").fill("The rim arrived chipped.")
    assert overflow(shopper) == 0
    screenshot(shopper, f"return-ask-{size}")
    shopper.get_by_role("button", name="Send my return request").click()
    shopper.wait_for_load_state()
    assert shopper.url.endswith(f"/orders/{order_id}")
    assert shopper.get_by_text("Your return request is sent.").count() == 1
    assert shopper.locator(".tag-return-requested").count() == 1

    shop = open_as(seller)
    shop.goto(f"{live_server}/account/shop/returns/")
    shop.get_by_role("link", name=reference).click()
    shop.wait_for_load_state()
    shop.get_by_label("Return instructions").fill("Post it to 3 rue Haute, Lyon.")
    assert overflow(shop) == 0
    screenshot(shop, f"return-answer-{size}")
    shop.get_by_role("button", name="Accept the return").click()
    shop.wait_for_load_state()
    assert shop.get_by_text("Return accepted. The buyer has your instructions.").count() == 1
    restock = shop.get_by_label("Put the returned items back in stock")
    assert restock.is_checked()
    shop.get_by_role("button", name="I received it: refund the buyer").click()
    shop.wait_for_load_state()
    assert shop.get_by_text("The buyer is refunded.").count() == 1
    assert overflow(shop) == 0

    shopper.reload()
    assert shopper.locator(".tag-return-refunded").count() == 1
    assert shopper.get_by_text("Refunded €25.00.").count() == 1
    assert shopper.get_by_text("Post it to 3 rue Haute, Lyon.").count() >= 1
    assert overflow(shopper) == 0
    screenshot(shopper, f"return-refunded-{size}")
    db.session.commit()  # a fresh snapshot
    found = db.session.query(ReturnRequest).one()
    assert found.status == ReturnStatus.REFUNDED
    assert db.session.get(Order, order_id).refunded_minor == 2500
