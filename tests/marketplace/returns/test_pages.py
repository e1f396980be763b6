"""Returns through the pages: the buyer asks (with photos), the seller answers and receives,
the moderators decide; both order pages show the return and its history."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from marketplace.returns.models import ReturnPhoto, ReturnRequest, ReturnStatus
from tests.conftest import login
from tests.factories import UserFactory
from tests.marketplace.helpers import image_bytes
from tests.marketplace.returns.flow import accepted, ask, delivered_order, fresh


def _the_return(order) -> ReturnRequest:
    db.session.commit()
    db.session.expire_all()
    return db.session.scalars(select(ReturnRequest).where(ReturnRequest.order_id == order.id)).one()


def test_the_buyer_asks_with_photos_and_the_seller_accepts_then_receives(client, emulator):
    order = delivered_order(client, quantity=2)
    line_id = order.lines[0].id
    login(client, order.buyer)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Returns accepted within 30 days of delivery" in page and "Return items" in page
    form = client.get(f"/orders/{order.id}/return")
    assert form.status_code == 200 and f'name="qty-{line_id}"' in form.get_data(as_text=True)
    too_many = client.post_form(
        f"/orders/{order.id}/return", {f"qty-{line_id}": "3", "reason": "damaged"}
    )
    assert too_many.status_code == 422 and "At most 2" in too_many.get_data(as_text=True)
    not_a_number = client.post_form(
        f"/orders/{order.id}/return", {f"qty-{line_id}": "two", "reason": "damaged"}
    )
    assert not_a_number.status_code == 422 and "whole number" in not_a_number.get_data(as_text=True)
    no_reason = client.post_form(f"/orders/{order.id}/return", {f"qty-{line_id}": "1"})
    assert no_reason.status_code == 422
    not_a_picture = client.post_form(
        f"/orders/{order.id}/return",
        {
            f"qty-{line_id}": "1",
            "reason": "damaged",
            "photos": (io.BytesIO(b"<svg onload=alert(1)>"), "chip.png"),
        },
        content_type="multipart/form-data",
    )
    assert not_a_picture.status_code == 422
    assert db.session.scalar(select(ReturnRequest)) is None  # nothing half-written
    sent = client.post_form(
        f"/orders/{order.id}/return",
        {
            f"qty-{line_id}": "1",
            "reason": "damaged",
            "reason_text": "The rim is chipped.",
            "photos": (io.BytesIO(image_bytes()), "chip.png"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[-1500:]
    found = _the_return(order)
    assert found.status == ReturnStatus.REQUESTED and found.lines[0].quantity == 1
    photo = db.session.scalar(select(ReturnPhoto))
    assert photo.key.endswith(".webp")  # re-encoded
    mine = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Return requested" in mine and "The rim is chipped." in mine

    login(client, order.shop.owner)
    listing = client.get("/account/shop/returns/").get_data(as_text=True)
    assert order.reference in listing and "Arrived damaged" in listing
    seller_page = client.get(f"/account/shop/orders/{order.id}").get_data(as_text=True)
    assert "Accept the return" in seller_page and "Refuse" in seller_page
    empty = client.post_form(f"/account/shop/returns/{found.id}/accept", {"instructions": ""})
    assert empty.status_code == 302 and fresh(found).status == ReturnStatus.REQUESTED
    client.post_form(
        f"/account/shop/returns/{found.id}/accept", {"instructions": "Post it to 3 rue Haute."}
    )
    assert fresh(found).status == ReturnStatus.ACCEPTED
    seller_page = client.get(f"/account/shop/orders/{order.id}").get_data(as_text=True)
    assert "I received it: refund the buyer" in seller_page and 'name="restock"' in seller_page
    client.post_form(f"/account/shop/returns/{found.id}/receive", {"restock": "y"})
    found = fresh(found)
    assert found.status == ReturnStatus.REFUNDED and found.refund.amount_minor == 2500
    again = client.post_form(f"/account/shop/returns/{found.id}/receive", {"restock": "y"})
    assert again.status_code == 302
    assert len(emulator.objects("refund")) == 1

    login(client, order.buyer)
    mine = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Returned and refunded" in mine and "Post it to 3 rue Haute." in mine


def test_the_buyer_takes_a_refusal_to_the_moderators(client):
    order = delivered_order(client)
    found = ask(order)
    login(client, order.shop.owner)
    client.post_form(f"/account/shop/returns/{found.id}/refuse", {"reason": "It was used."})
    assert fresh(found).status == ReturnStatus.REFUSED
    login(client, order.buyer)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "It was used." in page and "Ask Kindred to decide" in page
    client.post_form(f"/returns/{found.id}/escalate", {"note": "It arrived like this."})
    assert fresh(found).status == ReturnStatus.ESCALATED
    moderator = UserFactory(is_admin=True)
    login(client, moderator)
    queue = client.get("/admin/returns/").get_data(as_text=True)
    assert order.reference in queue and "It arrived like this." in queue
    client.post_form(f"/admin/returns/{found.id}/decide", {"decision": "accept", "note": "Ok."})
    assert fresh(found).status == ReturnStatus.ACCEPTED
    assert "No return is waiting" in client.get("/admin/returns/").get_data(as_text=True)


def test_others_see_nothing_of_a_return(client):
    order = delivered_order(client)
    found = accepted(order)
    stranger = UserFactory()
    login(client, stranger)
    assert client.get(f"/orders/{order.id}/return").status_code in (403, 404)
    assert client.post_form(f"/returns/{found.id}/withdraw").status_code == 404
    assert client.post_form(f"/account/shop/returns/{found.id}/receive").status_code == 404
    assert client.get("/admin/returns/").status_code == 403
    assert fresh(found).status == ReturnStatus.ACCEPTED


def test_the_shop_sets_its_return_window(client):
    order = delivered_order(client, window_days=30)
    shop = order.shop
    login(client, shop.owner)
    form = client.get("/account/shop/").get_data(as_text=True)
    assert 'name="return_window_days"' in form
    product_page = client.get(f"/products/{order.lines[0].product_id}").get_data(as_text=True)
    assert "Returns accepted within 30 days of delivery." in product_page


def test_a_shop_without_returns_says_so_and_offers_none(client):
    order = delivered_order(client, window_days=0)
    login(client, order.buyer)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "This shop does not accept returns." in page and "Return items" not in page
