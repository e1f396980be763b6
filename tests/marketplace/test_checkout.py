"""The whole flow against the emulator: cart → checkout → hosted page → webhook → orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from marketplace.models import ProductVariant
from marketplace.order_models import CartLine, Checkout, CheckoutStatus, Order, OrderStatus
from payouts.models import StripeEvent
from tests.concurrency import at_once
from tests.conftest import login
from tests.factories import UserFactory
from tests.marketplace.shopping import (
    ADDRESS,
    DECLINED_CARD,
    add,
    buy,
    orders_of,
    pay_on_hosted_page,
    start_checkout,
    two_shops,
)


def stock_of(product):
    db.session.commit()  # a fresh snapshot
    return db.session.get(ProductVariant, product.variants[0].id).stock


def test_buying_from_two_shops_makes_one_payment_and_two_orders(client, emulator, outbox):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    checkout = buy(client, buyer, bowl, jacket)
    assert checkout.status == CheckoutStatus.PAID
    # €25 + €5 shipping, and €40 with free shipping over €30: one payment of €70.
    assert checkout.total_minor == 7000
    session = emulator.get(checkout.stripe_session_id)
    assert session["amount_total"] == 7000
    assert (
        session["payment_intent_data"]["transfer_group"] == checkout.public_id
        if "payment_intent_data" in session
        else True
    )
    intent = emulator.get(checkout.stripe_payment_intent_id)
    assert intent["transfer_group"] == checkout.public_id
    orders = orders_of(checkout)
    assert [(o.shop.name, o.subtotal_minor, o.shipping_minor, o.total_minor) for o in orders] == [
        ("Ana's studio", 2500, 500, 3000),
        ("Bruno denim", 4000, 0, 4000),
    ]
    assert all(o.status == OrderStatus.PAID and o.lines[0].title for o in orders)
    assert orders[0].lines[0].title == "Speckled bowl"
    # The stock was taken once (at checkout), the jacket is now sold out, the cart is empty.
    assert stock_of(bowl) == 2 and stock_of(jacket) == 0
    assert db.session.scalar(select(func.count(CartLine.id))) == 0
    # The charge was fetched after the webhook, for the transfers to come.
    assert checkout.stripe_charge_id and all(
        o.stripe_charge_id == checkout.stripe_charge_id for o in orders
    )
    subjects = [m["Subject"] for m in outbox()]
    assert "Your Kindred order is confirmed" in subjects
    assert sum(s.startswith("New order") for s in subjects) == 2


def test_the_redirect_page_waits_for_the_webhook(app, client, emulator):
    app.config["STRIPE_EMULATOR_AUTO_DELIVER"] = False
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    started = start_checkout(client)
    checkout = db.session.scalar(select(Checkout))
    emulator.pay_checkout_session(checkout.stripe_session_id)  # paid, webhook not yet delivered
    done = client.get(f"/checkout/{checkout.public_id}/done")
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert "Confirming your payment" in html and 'http-equiv="refresh"' in html
    emulator.deliver_due_webhooks()
    html = client.get(f"/checkout/{checkout.public_id}/done").get_data(as_text=True)
    assert "Your order is placed" in html
    assert started.status_code == 303


def test_a_declined_card_makes_no_order_and_the_expiry_releases_the_stock(client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl, 2)
    started = start_checkout(client)
    assert stock_of(bowl) == 1  # reserved while paying
    declined = pay_on_hosted_page(client, started.headers["Location"], DECLINED_CARD)
    assert "declined" in declined.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count(Order.id))) == 0
    checkout = db.session.scalar(select(Checkout))
    emulator.advance(60 * 60)  # the session expires at Stripe → checkout.session.expired
    emulator.deliver_due_webhooks()
    db.session.commit()  # a fresh snapshot
    checkout = db.session.get(Checkout, checkout.id)
    assert checkout.status == CheckoutStatus.EXPIRED and checkout.stock_released
    assert stock_of(bowl) == 3
    # The cart is still there to try again.
    assert db.session.scalar(select(func.count(CartLine.id))) == 1


def test_a_duplicate_webhook_changes_nothing(client, emulator):
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    completed = db.session.scalar(
        select(StripeEvent).where(StripeEvent.type == "checkout.session.completed")
    )
    # Stripe delivers the same event again: acknowledged, not processed twice.
    from payouts import webhooks

    assert webhooks.store_event(completed.payload) is None
    from marketplace import checkout as checkouts

    again = checkouts.record_payment(
        public_id=checkout.public_id,
        session_id=checkout.stripe_session_id,
        payment_intent_id=checkout.stripe_payment_intent_id,
        charge_id=None,
        amount_total=checkout.total_minor,
    )
    db.session.commit()
    assert [o.id for o in again] == [o.id for o in orders_of(checkout)]
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert stock_of(bowl) == 2


def test_an_expiry_webhook_after_the_payment_changes_nothing(client, emulator):
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    from marketplace import checkout as checkouts

    checkouts.expire(session_id=checkout.stripe_session_id)
    db.session.commit()
    db.session.commit()  # a fresh snapshot
    assert db.session.get(Checkout, checkout.id).status == CheckoutStatus.PAID
    assert stock_of(bowl) == 2


def test_a_payment_webhook_arriving_after_the_expiry_takes_the_stock_again(app, client, emulator):
    """Out of order: our side released the stock, then Stripe says it was paid."""
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    start_checkout(client)
    checkout = db.session.scalar(select(Checkout))
    from marketplace import checkout as checkouts

    checkouts.expire(public_id=checkout.public_id)
    db.session.commit()
    assert stock_of(bowl) == 3
    orders = checkouts.record_payment(
        public_id=checkout.public_id,
        session_id=checkout.stripe_session_id,
        payment_intent_id="pi_x",
        charge_id=None,
        amount_total=checkout.total_minor,
    )
    db.session.commit()
    assert len(orders) == 1 and stock_of(bowl) == 2


def test_a_webhook_for_an_unknown_session_changes_nothing(app):
    from marketplace import checkout as checkouts

    assert (
        checkouts.record_payment(
            public_id="chk_nope",
            session_id="cs_nope",
            payment_intent_id=None,
            charge_id=None,
            amount_total=100,
        )
        == []
    )
    assert checkouts.expire(public_id="chk_nope") is None


def test_a_second_click_reuses_the_same_checkout(client, emulator):
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    first = start_checkout(client)
    second = start_checkout(client)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Checkout.id))) == 1
    assert stock_of(bowl) == 2


def test_changing_the_cart_replaces_the_open_checkout(client, emulator):
    bowl, jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    first = start_checkout(client)
    add(client, jacket)
    second = start_checkout(client)
    assert first.headers["Location"] != second.headers["Location"]
    checkouts = db.session.scalars(select(Checkout).order_by(Checkout.id)).all()
    assert [c.status for c in checkouts] == [CheckoutStatus.CANCELLED, CheckoutStatus.OPEN]
    assert emulator.get(checkouts[0].stripe_session_id)["status"] == "expired"
    assert stock_of(bowl) == 2 and stock_of(jacket) == 0  # the old reservation was returned


def test_the_buyer_can_leave_the_payment_page_and_cancel(client, emulator):
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    start_checkout(client)
    checkout = db.session.scalar(select(Checkout))
    page = client.get(f"/checkout/{checkout.public_id}/cancelled")
    assert "Return to payment" in page.get_data(as_text=True)
    assert client.post_form(f"/checkout/{checkout.public_id}/cancel").status_code == 302
    db.session.commit()  # a fresh snapshot
    assert db.session.get(Checkout, checkout.id).status == CheckoutStatus.CANCELLED
    assert stock_of(bowl) == 3
    # Cancelling twice is harmless.
    assert client.post_form(f"/checkout/{checkout.public_id}/cancel").status_code == 302
    assert stock_of(bowl) == 3


def test_the_sweeper_expires_abandoned_checkouts(app, client, emulator):
    import time_machine

    from app.models import utcnow
    from marketplace.commerce import sweep_checkouts

    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    start_checkout(client)
    from datetime import timedelta

    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        emulator.advance(2 * 3600)
        from app.uow import unit_of_work

        with unit_of_work():
            assert sweep_checkouts() <= 1
        emulator.deliver_due_webhooks()
    db.session.commit()  # a fresh snapshot
    assert db.session.scalar(select(Checkout)).status == CheckoutStatus.EXPIRED
    assert stock_of(bowl) == 3


def test_checkout_needs_an_address_and_a_nonempty_cart(client):
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    empty = start_checkout(client)
    assert empty.status_code == 422 and "Your cart is empty" in empty.get_data(as_text=True)
    add(client, bowl)
    bad = start_checkout(client, {**ADDRESS, "country": "XX", "city": ""})
    assert bad.status_code == 422
    assert db.session.scalar(select(func.count(Checkout.id))) == 0
    assert stock_of(bowl) == 3


def test_paused_shop_blocks_checkout(client):
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    bowl.shop.status = "paused"
    db.session.commit()
    cart = client.get("/cart").get_data(as_text=True)
    assert "is paused" in cart
    response = start_checkout(client)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Checkout.id))) == 0


def test_the_summary_shows_where_the_money_goes(client):
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    html = client.get("/checkout").get_data(as_text=True)
    assert "Kindred fee" in html and "€2.00" in html  # 8 % of €25
    assert "€23.00" in html  # the seller's part
    assert "Ana&#39;s studio" in html or "Ana's studio" in html


def test_the_address_is_saved_for_next_time(client, emulator):
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    buy(client, buyer, bowl)
    add(client, bowl)
    form = client.get("/checkout").get_data(as_text=True)
    assert 'value="12 rue des Lilas"' in form


@pytest.mark.usefixtures("postgres_only")
def test_many_buyers_racing_for_the_last_unit_get_one_order(app, emulator):
    """On PostgreSQL, with real concurrency: the last jacket sells once."""
    _bowl, jacket = two_shops()
    buyers = [UserFactory() for _ in range(8)]
    clients = [app.test_client() for _ in buyers]
    for buyer_client, buyer in zip(clients, buyers, strict=True):
        login(buyer_client, buyer)
        assert add(buyer_client, jacket).status_code == 302
    results: list[int] = []

    def racer(buyer_client: Any) -> Callable[[], None]:
        return lambda: results.append(start_checkout(buyer_client).status_code)

    at_once(app, [racer(c) for c in clients], in_unit_of_work=False)
    assert sorted(results) == [303] + [422] * (len(clients) - 1)
    assert stock_of(jacket) == 0
    winner = db.session.scalar(select(Checkout).where(Checkout.status == CheckoutStatus.OPEN))
    pay_on_hosted_page(app.test_client(), winner.stripe_session_url)
    db.session.commit()  # a fresh snapshot
    assert db.session.scalar(select(func.count(Order.id))) == 1


def test_the_country_list_offers_only_real_places_people_ship_to(client):
    bowl, _jacket = two_shops()
    login(client, UserFactory())
    add(client, bowl)
    page = client.get("/checkout").get_data(as_text=True)
    assert '<option value="FR">France</option>' in page
    assert '<option value="XK">Kosovo</option>' in page
    for code, name in [
        ("XA", "Pseudo-Accents"),
        ("XB", "Pseudo-Bidi"),
        ("AQ", "Antarctica"),
        ("BV", "Bouvet Island"),
        ("HM", "Heard"),
        ("TF", "French Southern"),
    ]:
        assert f'value="{code}"' not in page and name not in page
    french = client.get("/checkout", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Antarctique" not in french and "Pseudo" not in french
    refused = start_checkout(client, {**ADDRESS, "country": "AQ"})
    assert refused.status_code == 422  # not one of the choices
    assert db.session.scalar(select(func.count(Checkout.id))) == 0
