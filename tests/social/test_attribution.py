"""Share links and attribution: the click, the cookie, the cart line, the checkout line, the
order, and what payouts reads."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from flask import current_app

from app.extensions import db
from app.models import utcnow
from marketplace import signals
from marketplace.order_models import CartLine
from social.attribution import Credit, credits_for_checkout_lines
from social.models import (
    CartAttribution,
    CheckoutAttribution,
    Notification,
    ShareClick,
    ShareLink,
)
from social.sharing import COOKIE
from tests.conftest import login
from tests.factories import CollectionFactory, PickFactory, ProductFactory, UserFactory
from tests.marketplace.shopping import add, buy, orders_of
from tests.social.helpers import as_user, fresh


def link_of(pick) -> ShareLink:
    db.session.commit()
    return db.session.get(ShareLink, pick.share_link_id)


def cart_line_of(user) -> CartLine:
    db.session.commit()
    return db.session.scalars(db.select(CartLine).order_by(CartLine.id.desc())).first()


def test_share_codes_are_long_and_random(app):
    picks = [PickFactory() for _ in range(3)]
    codes = [link_of(p).code for p in picks]
    assert len(set(codes)) == 3 and all(len(c) >= 16 for c in codes)


def test_a_visit_records_one_click_per_visitor_per_day_and_sets_the_cookie(app, client):
    pick = PickFactory()
    code = link_of(pick).code
    first = client.get(f"/s/{code}")
    assert first.status_code == 302 and first.headers["Location"].endswith(f"/picks/{pick.id}")
    cookie = client.get_cookie(COOKIE, domain="kindred.test")
    assert cookie is not None and cookie.http_only
    client.get(f"/s/{code}")
    assert link_of(pick).clicks == 1
    # Another visitor counts; the same visitor the next day counts again.
    app.test_client().get(f"/s/{code}")
    assert link_of(pick).clicks == 2
    with time_machine.travel(utcnow() + timedelta(days=1, hours=1)):
        client.get(f"/s/{code}")
    assert link_of(pick).clicks == 3
    assert len(fresh(ShareClick)) == 3
    assert client.get("/s/not-a-real-code").status_code == 404


def test_the_sharer_following_their_own_link_counts_nothing(app, client):
    pick = PickFactory()
    as_user(client, pick.author)
    client.get(f"/s/{link_of(pick).code}")
    assert link_of(pick).clicks == 0 and client.get_cookie(COOKIE, domain="kindred.test") is None


def test_visit_then_add_to_cart_attributes_the_line(app, client):
    pick = PickFactory()
    buyer = UserFactory()
    client.get(f"/s/{link_of(pick).code}")
    login(client, buyer)
    assert add(client, pick.product).status_code == 302
    line = cart_line_of(buyer)
    attribution = db.session.get(CartAttribution, line.id)
    assert attribution.curator_id == pick.author_id
    assert attribution.share_link_id == pick.share_link_id
    assert link_of(pick).add_to_carts == 1


def test_a_guest_cart_line_keeps_its_attribution_through_log_in(app, client):
    pick = PickFactory()
    buyer = UserFactory()
    client.get(f"/s/{link_of(pick).code}")
    add(client, pick.product)  # as a guest
    login(client, buyer)
    line = cart_line_of(buyer)
    assert db.session.get(CartAttribution, line.id).curator_id == pick.author_id


def test_no_attribution_outside_the_window(app, client):
    app.config["ATTRIBUTION_WINDOW_DAYS"] = 2
    pick = PickFactory()
    client.get(f"/s/{link_of(pick).code}")
    login(client, UserFactory())
    with time_machine.travel(utcnow() + timedelta(days=3)):
        add(client, pick.product)
    assert fresh(CartAttribution) == []


def test_no_attribution_for_another_product(app, client):
    pick = PickFactory()
    other = ProductFactory()
    client.get(f"/s/{link_of(pick).code}")
    login(client, UserFactory())
    add(client, other)
    assert fresh(CartAttribution) == []


def test_the_last_click_wins(app, client):
    product = ProductFactory()
    first, second = PickFactory(product=product), PickFactory(product=product)
    buyer = UserFactory()
    login(client, buyer)
    client.get(f"/s/{link_of(first).code}")
    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        client.get(f"/s/{link_of(second).code}")
        add(client, product)
    assert db.session.get(CartAttribution, cart_line_of(buyer).id).curator_id == second.author_id
    with time_machine.travel(utcnow() + timedelta(minutes=10)):
        client.get(f"/s/{link_of(first).code}")
        add(client, product)  # adding again after a newer click moves the credit
    db.session.expire_all()
    assert db.session.get(CartAttribution, cart_line_of(buyer).id).curator_id == first.author_id


def test_collection_links_attribute_their_products(app, client):
    mug, hat = ProductFactory(), ProductFactory()
    collection = CollectionFactory(products=[mug])
    db.session.commit()
    code = collection.share_link.code
    response = client.get(f"/s/{code}?p={mug.id}")
    assert response.headers["Location"].endswith(f"/products/{mug.id}")
    # A product not in the collection: the link leads to the collection page.
    assert (
        client.get(f"/s/{code}?p={hat.id}")
        .headers["Location"]
        .endswith(f"/collections/{collection.id}")
    )
    login(client, UserFactory())
    add(client, hat)
    add(client, mug)
    assert [(a.product_id, a.curator_id) for a in fresh(CartAttribution)] == [
        (mug.id, collection.owner_id)
    ]


def test_no_attribution_to_the_buyer_or_the_shop_owner(app, client):
    product = ProductFactory()
    by_owner = PickFactory(product=product, author=product.shop.owner)
    own_pick = PickFactory(product=product)
    client.get(f"/s/{link_of(by_owner).code}")
    as_user(client, own_pick.author)
    client.get(f"/s/{link_of(by_owner).code}")
    add(client, product)
    assert fresh(CartAttribution) == []


def test_payouts_reads_the_credit_of_a_paid_line(app, client, emulator, outbox):
    """End to end: share link → cart → checkout → payment → order counted, curator told."""
    pick = PickFactory()
    client.get(f"/s/{link_of(pick).code}")
    buyer = UserFactory()
    checkout = buy(client, buyer, pick.product)
    line = checkout.lines[0]
    assert credits_for_checkout_lines([line.id]) == {
        line.id: Credit(curator_id=pick.author_id, share_link_id=pick.share_link_id)
    }
    link = link_of(pick)
    assert (link.clicks, link.add_to_carts, link.orders) == (1, 1, 1)
    assert link.sales_minor == line.unit_price_minor * line.quantity
    assert fresh(Notification, recipient_id=pick.author_id, kind="sale")
    assert any(m["Subject"].startswith("Someone bought through your pick") for m in outbox())
    assert orders_of(checkout)[0].lines[0].checkout_line_id == line.id
    # The curator's statistics page shows it.
    client.post_form("/logout")
    as_user(client, pick.author)
    assert ">1</td>" in client.get("/account/stats").get_data(as_text=True)


def test_the_curator_buying_through_their_own_guest_click_gets_nothing(app, client, emulator):
    pick = PickFactory()
    other = PickFactory(product=pick.product)
    # The curator, logged out, follows a colleague's link, then logs in and buys.
    client.get(f"/s/{link_of(other).code}")
    checkout = buy(client, other.author, pick.product)
    assert credits_for_checkout_lines([line.id for line in checkout.lines]) == {}


# --- the receivers on their own, with stand-ins for the checkout's objects ----------------------


@pytest.fixture
def sender(app):
    return current_app._get_current_object()


def test_a_merged_guest_line_hands_over_the_newer_attribution(app, sender):
    from marketplace import cart as cart_services

    pick = PickFactory()
    buyer = UserFactory()
    variant_id = pick.product.variants[0].id
    with app.test_request_context("/"):
        account_line = cart_services.add(buyer, variant_id, 1)
        guest_line = cart_services.add(None, variant_id, 1)  # a guest cart, in this session
        db.session.add(
            CartAttribution(
                cart_line_id=guest_line.id,
                curator_id=pick.author_id,
                share_link_id=pick.share_link_id,
                product_id=pick.product_id,
                clicked_at=utcnow(),
            )
        )
        db.session.flush()
        # What the cart sends when it folds the guest line into the account's line.
        signals.cart_line_merged.send(
            sender, source_line_id=guest_line.id, target_line_id=account_line.id
        )
        db.session.commit()
    assert [(a.cart_line_id, a.curator_id) for a in fresh(CartAttribution)] == [
        (account_line.id, pick.author_id)
    ]


def test_checkout_started_checks_the_buyer_and_the_shop_again(app, client, sender):
    from social import attribution as receivers

    pick = PickFactory()
    buyer = UserFactory()
    client.get(f"/s/{link_of(pick).code}")
    login(client, buyer)
    add(client, pick.product)
    line = cart_line_of(buyer)

    def stand_in_checkout(buyer_id):
        return SimpleNamespace(
            id=1,
            buyer_id=buyer_id,
            lines=[
                SimpleNamespace(
                    id=line.id,  # stands for a checkout line id; nothing is written for these
                    cart_line_id=line.id,
                    product_id=pick.product_id,
                    shop_id=pick.product.shop_id,
                    unit_price_minor=2500,
                    quantity=1,
                    gross_minor=2500,  # what the buyer pays for the line, after any discount
                )
            ],
        )

    added: list = []
    original = db.session.add
    db.session.add = added.append  # type: ignore[method-assign]
    try:
        receivers.on_checkout_started(sender, stand_in_checkout(pick.author_id))
        assert added == []  # the curator buying: no commission
        # (Through the signal, other features' receivers run too: keep social's rows.)
        signals.checkout_started.send(sender, checkout=stand_in_checkout(buyer.id))
    finally:
        db.session.add = original  # type: ignore[method-assign]
    ours = [row for row in added if isinstance(row, CheckoutAttribution)]
    assert [(a.curator_id, a.gross_minor) for a in ours] == [(pick.author_id, 2500)]
