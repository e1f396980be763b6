"""A curator's share link becomes a commission: shown before paying, fixed, earned, paid."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from payouts.models import Earning, LineParty
from social.models import Pick, ShareLink
from tests.conftest import login
from tests.factories import PickFactory, UserFactory
from tests.marketplace.shopping import ADDRESS, add, pay_on_hosted_page, two_shops
from tests.payouts.money import check_invariants


def test_a_sale_through_a_share_link_pays_the_curator(app, client, emulator):
    bowl, _jacket = two_shops()  # the shop's commission is 10 %
    curator = UserFactory(display_name="Chloé")
    pick = PickFactory(author=curator, product=bowl)
    db.session.commit()
    code = db.session.get(ShareLink, db.session.get(Pick, pick.id).share_link_id).code
    buyer = UserFactory()
    login(client, buyer)
    client.get(f"/s/{code}")
    add(client, bowl)
    summary = client.get("/checkout").get_data(as_text=True)
    assert "Curator · Chloé" in summary and "€2.50" in summary  # 10 % of €25, before paying
    started = client.post_form("/checkout", ADDRESS)
    pay_on_hosted_page(client, started.headers["Location"])
    db.session.commit()
    curator_terms = db.session.scalars(select(LineParty).where(LineParty.role == "curator")).all()
    assert [(t.rate_bps, t.source.startswith("share-link:")) for t in curator_terms] == [
        (1000, True)
    ]
    curator_earning = db.session.scalar(select(Earning).where(Earning.role == "curator"))
    assert curator_earning.amount_minor == 250
    seller_earning = db.session.scalar(
        select(Earning).where(Earning.role == "seller", Earning.order_line_id.is_not(None))
    )
    assert (
        seller_earning.amount_minor == 2500 - 200 - 250
    )  # the rest after the 8 % fee and the commission
    check_invariants(emulator)


def test_no_commission_when_the_curator_buys_through_their_own_pick(app, client, emulator):
    bowl, _jacket = two_shops()
    curator = UserFactory()
    pick = PickFactory(author=curator, product=bowl)
    db.session.commit()
    code = db.session.get(ShareLink, db.session.get(Pick, pick.id).share_link_id).code
    login(client, curator)
    client.get(f"/s/{code}")
    add(client, bowl)
    started = client.post_form("/checkout", ADDRESS)
    pay_on_hosted_page(client, started.headers["Location"])
    db.session.commit()
    assert db.session.scalar(select(LineParty).where(LineParty.role == "curator")) is None


def test_a_curators_earnings_never_show_the_buyers_order_number(app, client, emulator):
    from marketplace.order_models import Order

    bowl, _jacket = two_shops()
    curator = UserFactory()
    pick = PickFactory(author=curator, product=bowl)
    db.session.commit()
    code = db.session.get(ShareLink, db.session.get(Pick, pick.id).share_link_id).code
    login(client, UserFactory())
    client.get(f"/s/{code}")
    add(client, bowl)
    pay_on_hosted_page(client, client.post_form("/checkout", ADDRESS).headers["Location"])
    db.session.commit()
    reference = db.session.scalar(select(Order.reference))
    login(client, curator)
    page = client.get("/account/earnings").get_data(as_text=True)
    assert "Speckled bowl" in page and "Curator" in page and "€2.50" in page
    assert reference not in page
    assert reference not in client.get("/account/earnings.csv").get_data(as_text=True)
    (item,) = client.get("/api/v1/earnings").get_json()["items"]
    assert (item["order_reference"], item["item"], item["role"]) == (
        None,
        "Speckled bowl",
        "curator",
    )
    assert reference not in client.get("/api/v1/earnings/export").get_data(as_text=True)
    # The seller's own order keeps its number on the seller's page.
    login(client, bowl.shop.owner)
    assert reference in client.get("/account/earnings").get_data(as_text=True)
