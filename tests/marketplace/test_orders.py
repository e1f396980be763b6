"""After payment: fulfilment, cancellation, refunds through Stripe, reviews, who sees what."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.uow import unit_of_work
from marketplace.models import ProductVariant
from marketplace.order_models import Order, OrderStatus, Refund, RefundStatus, Review
from tests.conftest import login
from tests.factories import UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops


def fresh(order):
    db.session.commit()
    return db.session.get(Order, order.id)


def bought(client, *, quantity_products=None):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl, jacket)
    client.post_form("/logout")
    bowl_order, jacket_order = orders_of(checkout)
    return buyer, bowl, bowl_order, jacket_order


def as_seller(client, order):
    client.post_form("/logout")
    login(client, order.shop.owner)


def test_seller_ships_buyer_confirms_and_both_see_the_timeline(client, outbox):
    buyer, _bowl, order, _other = bought(client)
    as_seller(client, order)
    page = client.get(f"/account/shop/orders/{order.id}")
    assert page.status_code == 200 and "Ship this order" in page.get_data(as_text=True)
    assert "Kindred fee" in page.get_data(as_text=True)  # the split of each line
    missing = client.post_form(
        f"/account/shop/orders/{order.id}/ship", {"carrier": "", "tracking_number": ""}
    )
    assert missing.status_code == 422
    shipped = client.post_form(
        f"/account/shop/orders/{order.id}/ship", {"carrier": "La Poste", "tracking_number": "6A123"}
    )
    assert shipped.status_code == 302
    order = fresh(order)
    assert order.status == OrderStatus.SHIPPED and order.auto_complete_at > order.shipped_at
    assert any("is on its way" in m["Subject"] for m in outbox())
    as_seller(client, order)
    client.post_form("/logout")
    login(client, buyer)
    mine = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "6A123" in mine and "I received it" in mine
    client.post_form(f"/orders/{order.id}/confirm-delivery")
    assert fresh(order).status == OrderStatus.DELIVERED
    client.post_form(f"/orders/{order.id}/confirm-delivery")  # twice: harmless
    timeline = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Delivery confirmed by the buyer" in timeline and "Shipped" in timeline


def test_shipped_orders_complete_by_themselves(client):
    _buyer, _bowl, order, _other = bought(client)
    as_seller(client, order)
    client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"})
    with time_machine.travel(utcnow() + timedelta(days=15), tick=False):
        from marketplace.commerce import complete_orders

        with unit_of_work():
            assert complete_orders() == 1
    order = fresh(order)
    assert order.status == OrderStatus.COMPLETED and order.delivered_at is not None


def test_only_the_buyer_and_the_seller_see_an_order(app, client):
    buyer, _bowl, order, other_order = bought(client)
    stranger = UserFactory()
    login(client, stranger)
    assert client.get(f"/orders/{order.id}").status_code == 403
    assert client.get(f"/account/shop/orders/{order.id}").status_code == 403
    assert (
        client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"}).status_code
        == 403
    )
    client.post_form("/logout")
    # The seller of the other shop cannot see this shop's order either.
    login(client, other_order.shop.owner)
    assert client.get(f"/account/shop/orders/{order.id}").status_code == 403
    client.post_form("/logout")
    login(client, buyer)
    assert client.get(f"/orders/{order.id}").status_code == 200
    assert client.get(f"/account/shop/orders/{order.id}").status_code in (302, 403)
    assert client.get("/orders/999999").status_code == 404


def test_cancel_before_shipping_refunds_everything_and_restocks(client, emulator, outbox):
    _buyer, bowl, order, _other = bought(client)
    as_seller(client, order)
    response = client.post_form(
        f"/account/shop/orders/{order.id}/cancel", {"reason": "Broken in the kiln"}
    )
    assert response.status_code == 302
    order = fresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert order.refunded_minor == order.total_minor == 3000
    refund = db.session.scalar(select(Refund))
    assert refund.status == RefundStatus.SUCCEEDED and refund.stripe_refund_id
    assert emulator.get(refund.stripe_refund_id)["amount"] == 3000
    assert db.session.get(ProductVariant, bowl.variants[0].id).stock == 3
    assert any("was cancelled" in m["Subject"] for m in outbox())
    # Cannot ship or cancel again.
    assert (
        client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": ""}).status_code
        == 302
    )
    assert db.session.scalar(select(db.func.count(Refund.id))) == 1


def test_partial_refunds_add_up_and_never_exceed_what_was_paid(client, emulator):
    _buyer, _bowl, order, _other = bought(client)
    line = order.lines[0]
    as_seller(client, order)
    first = client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "10.00", "reason": "Chipped"}
    )
    assert first.status_code == 302
    second = client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "15.00", "shipping": "2.50"}
    )
    assert second.status_code == 302
    too_much = client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "0.01"}
    )
    assert too_much.status_code == 422
    assert "can still be refunded" in too_much.get_data(as_text=True)
    too_much_shipping = client.post_form(
        f"/account/shop/orders/{order.id}/refund", {"shipping": "2.51"}
    )
    assert too_much_shipping.status_code == 422
    order = fresh(order)
    assert order.refunded_minor == 2750 and order.lines[0].refunded_minor == 2500
    refunds = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    assert [r.amount_minor for r in refunds] == [1000, 1750]
    charge = emulator.get(order.stripe_charge_id)
    assert charge["amount_refunded"] == 2750
    nonsense = client.post_form(f"/account/shop/orders/{order.id}/refund", {"shipping": "abc"})
    assert nonsense.status_code == 422


def test_a_refund_with_restock_puts_items_back(client):
    _buyer, bowl, order, _other = bought(client)
    line = order.lines[0]
    as_seller(client, order)
    client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "25.00", "restock": "y"}
    )
    assert db.session.get(ProductVariant, bowl.variants[0].id).stock == 3
    assert fresh(order).lines[0].restocked_quantity == 1


def test_a_refund_the_payment_service_refuses_is_recorded_and_changes_no_totals(client, emulator):
    _buyer, _bowl, order, _other = bought(client)
    line = order.lines[0]
    as_seller(client, order)
    emulator.fail_next("/v1/refunds", count=5)
    response = client.post_form(
        f"/account/shop/orders/{order.id}/refund",
        {f"line-{line.id}": "5.00"},
        follow_redirects=True,
    )
    assert "retried automatically" in response.get_data(as_text=True)
    refund = db.session.scalar(select(Refund))
    assert refund.status == RefundStatus.PENDING  # the same key will be retried
    assert fresh(order).refunded_minor == 0
    from marketplace.commerce import retry_refunds

    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=False), unit_of_work():
        assert retry_refunds() == 1
    db.session.commit()
    assert db.session.get(Refund, refund.id).status == RefundStatus.SUCCEEDED
    assert fresh(order).refunded_minor == 500
    assert emulator.get(order.stripe_charge_id)["amount_refunded"] == 500


def test_reviews_after_delivery_show_on_the_shop(client):
    buyer, _bowl, order, _other = bought(client)
    line = order.lines[0]
    login(client, buyer)
    early = client.post_form(
        f"/orders/{order.id}/review",
        {"order_line_id": line.id, "rating": 5, "body": "Lovely"},
        follow_redirects=True,
    )
    assert "once it has been delivered" in early.get_data(as_text=True)
    as_seller(client, order)
    client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"})
    client.post_form(f"/account/shop/orders/{order.id}/deliver")
    client.post_form("/logout")
    login(client, buyer)
    client.post_form(
        f"/orders/{order.id}/review",
        {"order_line_id": line.id, "rating": 4, "body": "Lovely <b>bowl</b>"},
    )
    client.post_form(
        f"/orders/{order.id}/review", {"order_line_id": line.id, "rating": 5, "body": "Even better"}
    )
    reviews = db.session.scalars(select(Review)).all()
    assert [(r.rating, r.body) for r in reviews] == [(5, "Even better")]
    bad = client.post_form(f"/orders/{order.id}/review", {"order_line_id": line.id, "rating": 9})
    assert bad.status_code == 302 and db.session.scalar(select(Review.rating)) == 5
    from marketplace.orders import shop_rating

    assert shop_rating(order.shop_id).average == 5.0 and shop_rating(order.shop_id).count == 1


def test_an_ordered_product_is_archived_instead_of_deleted(client):
    _buyer, bowl, order, _other = bought(client)
    from marketplace import products as product_services

    outcome = product_services.delete_product(bowl.shop.owner, bowl)
    db.session.commit()
    assert outcome == "archived"
    assert fresh(order).lines[0].title == "Speckled bowl"


def test_buyer_order_history_lists_orders(client):
    buyer, _bowl, order, other = bought(client)
    login(client, buyer)
    html = client.get("/orders").get_data(as_text=True)
    assert order.reference in html and other.reference in html


def test_the_shop_page_shows_the_average_rating(client):
    buyer, _bowl, order, _other = bought(client)
    as_seller(client, order)
    client.post_form(f"/account/shop/orders/{order.id}/ship", {"carrier": "DHL"})
    client.post_form(f"/account/shop/orders/{order.id}/deliver")
    client.post_form("/logout")
    login(client, buyer)
    client.post_form(
        f"/orders/{order.id}/review",
        {"order_line_id": order.lines[0].id, "rating": 4, "body": "Nice <script>x</script>"},
    )
    html = client.get(f"/shops/{order.shop.slug}").get_data(as_text=True)
    assert "4.0 out of 5, from 1 review" in html
    assert "&lt;script&gt;" in html and "<script>x" not in html


def test_the_sellers_split_names_the_variant_and_shows_refunds(client, emulator):
    import re

    from marketplace import products as product_services
    from tests.factories import ProductFactory

    tee = ProductFactory(
        title="Linen tee",
        option1_name="Colour",
        option2_name="Size",
        variants=[
            product_services.VariantInput(price_minor=2500, stock=3, option1="Blue", option2="L")
        ],
    )
    (order,) = orders_of(buy(client, UserFactory(), tee))
    line = order.lines[0]
    as_seller(client, order)
    page = client.get(f"/account/shop/orders/{order.id}").get_data(as_text=True)
    split = page[page.index("Where the money goes") : page.index("</table>", page.index("Where"))]
    assert "Linen tee" in split and "Blue / L" in split
    assert "refunded" not in split.lower()
    refunded = client.post_form(
        f"/account/shop/orders/{order.id}/refund",
        {f"line-{line.id}": "12.50", "shipping": "1.00", "reason": "Faded"},
    )
    assert refunded.status_code == 302
    page = client.get(f"/account/shop/orders/{order.id}").get_data(as_text=True)
    split = page[page.index("Where the money goes") : page.index("</table>", page.index("Where"))]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", split))
    assert "Refunded €12.50" in text  # the line's refund, under its name
    # The 8 % fee (€2.00 of €25.00) gives back €1.00 of the €12.50; the seller €11.50.
    assert "Kindred fee €2.00 €1.00 refunded" in text
    assert "€23.00 €11.50 refunded" in text
    assert "Shipping Refunded €1.00 Seller" in text


def test_a_tracking_number_links_to_the_carriers_page_where_the_carrier_is_known(client, outbox):
    buyer, _bowl, order, _other = bought(client)
    as_seller(client, order)
    client.post_form(
        f"/account/shop/orders/{order.id}/ship",
        {"carrier": "Colissimo", "tracking_number": "6A 1234 5678 901"},
    )
    login(client, buyer)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    link = (
        '<a class="mono" href="https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"'
    )
    assert link in page and ">6A 1234 5678 901<" in page
    assert "follow the parcel on Colissimo" in page
    answer = client.get(f"/api/v1/orders/{order.id}").get_json()
    assert answer["tracking_url"] == (
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"
    )
    mail = next(m for m in outbox() if "is on its way" in m["Subject"])
    body = mail.get_body(("plain",)).get_content()
    assert "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901" in body


def test_a_tracking_number_stays_plain_text_for_an_unknown_carrier_or_an_odd_number(client):
    from marketplace.tracking import tracking_url

    assert tracking_url("UPS Standard", "1Z 999 AA1 01 2345 6784") == (
        "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    )
    assert tracking_url("USPS", "9400111899223") == (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223"
    )
    assert tracking_url("La Poste", "6A123&x=<b>") is None
    assert tracking_url("Le coursier du quartier", "6A12345678901") is None
    buyer, _bowl, order, _other = bought(client)
    as_seller(client, order)
    client.post_form(
        f"/account/shop/orders/{order.id}/ship",
        {"carrier": "DHL", "tracking_number": '"><script>alert(1)</script>'},
    )
    login(client, buyer)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "dhl.com" not in page
    assert '<span class="mono">&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</span>' in page
    assert client.get(f"/api/v1/orders/{order.id}").get_json()["tracking_url"] is None
