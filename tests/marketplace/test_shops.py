from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from marketplace import shops
from marketplace.models import Shop
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.marketplace.helpers import image_bytes

SHOP_FORM = {
    "name": "Atelier Duarte",
    "slug": "",
    "description": "Stoneware from **Porto**.",
    "return_policy": "Returns within 14 days.",
    "shipping_flat": "6.90",
    "free_shipping_over": "60",
    "processing_days": "5",
    "curator_commission": "12.5",
}


def test_open_a_shop_from_the_account(client):
    user = UserFactory()
    login(client, user)
    assert client.get("/account/shop/").status_code == 302  # no shop yet: to the open form
    page = client.get("/account/shop/open")
    assert page.status_code == 200 and "Open a shop" in page.get_data(as_text=True)
    response = client.post_form(
        "/account/shop/open",
        {**SHOP_FORM, "logo": (io.BytesIO(image_bytes()), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    shop = db.session.scalar(select(Shop))
    assert shop.owner_id == user.id
    assert shop.slug == "atelier-duarte"  # made from the name when left empty
    assert shop.shipping_flat_minor == 690 and shop.free_shipping_over_minor == 6000
    assert shop.curator_commission_bps == 1250
    assert shop.processing_days == 5
    assert "<strong>Porto</strong>" in shop.description_html
    assert shop.logo_key and shop.logo_key.endswith(".webp")
    html = client.get("/shops/atelier-duarte").get_data(as_text=True)
    assert "Atelier Duarte" in html and "12.5 %" in html  # the commission is shown
    assert "€6.90 per order" in html and "Free from €60.00" in html


def test_one_shop_per_person(client):
    shop = ShopFactory()
    login(client, shop.owner)
    # The page sends the owner to their shop; the service refuses a second one outright.
    assert client.get("/account/shop/open").status_code == 302
    response = client.api("POST", "/api/v1/shops", json={"name": "Second"})
    assert response.status_code == 409
    assert db.session.scalar(select(db.func.count(Shop.id))) == 1


def test_slug_must_be_unique_and_well_formed(client):
    ShopFactory(slug="taken")
    login(client, UserFactory())
    for slug, message in (
        ("taken", "That shop address is taken"),
        ("Bad Slug!", "lower-case letters"),
        ("ab", "lower-case letters"),
        ("search", "reserved"),
    ):
        response = client.post_form("/account/shop/open", {**SHOP_FORM, "slug": slug})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Shop.id))) == 1


def test_bad_shop_input_is_refused_field_by_field(client):
    login(client, UserFactory())
    response = client.post_form(
        "/account/shop/open",
        {
            **SHOP_FORM,
            "shipping_flat": "-1",
            "free_shipping_over": "lots",
            "curator_commission": "45",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter an amount such as 12.50." in html
    response = client.post_form("/account/shop/open", {**SHOP_FORM, "curator_commission": "45"})
    assert response.status_code == 422
    assert "Choose a curator commission from 0% to 30%." in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Shop.id))) == 0


def test_commission_bounds_come_from_configuration(app, client):
    app.config.update(
        CURATOR_COMMISSION_MIN_BPS=500,
        CURATOR_COMMISSION_MAX_BPS=2000,
        CURATOR_COMMISSION_DEFAULT_BPS=800,
    )
    with app.test_request_context():
        assert shops.commission_bounds() == shops.CommissionBounds(500, 2000, 800)
    login(client, UserFactory())
    form = client.get("/account/shop/open").get_data(as_text=True)
    assert 'value="8"' in form  # the default, in percent
    too_low = client.post_form("/account/shop/open", {**SHOP_FORM, "curator_commission": "4"})
    assert too_low.status_code == 422
    assert "from 5% to 20%" in too_low.get_data(as_text=True)


def test_default_commission_when_none_given(app, client):
    login(client, UserFactory())
    response = client.api("POST", "/api/v1/shops", json={"name": "Plain shop"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["curator_commission_bps"] == 1000


def test_edit_shop_and_rename_reindexes_search(client):
    shop = ShopFactory(name="Old name", slug="old")
    ProductFactory(shop=shop, title="Blue mug")
    login(client, shop.owner)
    form = client.get("/account/shop/").get_data(as_text=True)
    assert 'value="Old name"' in form
    response = client.post_form(
        "/account/shop/", {**SHOP_FORM, "name": "Porcelain Palace", "slug": "palace"}
    )
    assert response.status_code == 302
    db.session.refresh(shop)
    assert (shop.name, shop.slug) == ("Porcelain Palace", "palace")
    found = client.get("/api/v1/search?q=porcelain").get_json()["items"]
    assert [p["title"] for p in found] == ["Blue mug"]


def test_pause_hides_the_shop_and_its_products_then_reopen(client):
    shop = ShopFactory(slug="knits")
    product = ProductFactory(shop=shop, title="Wool hat")
    visitor = client.application.test_client()
    login(client, shop.owner)
    assert client.post_form("/account/shop/pause").status_code == 302
    db.session.refresh(shop)
    db.session.refresh(product)
    assert shop.status == "paused" and product.listed is False
    assert visitor.get("/shops/knits").status_code == 404
    assert visitor.get(f"/products/{product.id}").status_code == 404
    assert visitor.get("/api/v1/search?q=wool").get_json()["items"] == []
    assert "Wool hat" not in visitor.get("/").get_data(as_text=True)
    # The owner still sees it, with a notice.
    owner_view = client.get("/shops/knits")
    assert owner_view.status_code == 200 and "paused" in owner_view.get_data(as_text=True)
    assert client.post_form("/account/shop/reopen").status_code == 302
    assert visitor.get("/shops/knits").status_code == 200
    assert [p["title"] for p in visitor.get("/api/v1/search?q=wool").get_json()["items"]] == [
        "Wool hat"
    ]


def test_only_the_owner_edits_a_shop(client):
    shop = ShopFactory()
    intruder = UserFactory()
    login(client, intruder)
    response = client.api("PATCH", f"/api/v1/shops/{shop.id}", json={"name": "Mine now"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    response = client.api("PATCH", f"/api/v1/shops/{shop.id}", json={"status": "paused"})
    assert response.status_code == 403
    db.session.refresh(shop)
    assert shop.name != "Mine now" and shop.status == "open"


def test_profile_shows_the_persons_shop(client):
    shop = ShopFactory(name="Keller Vintage")
    ProductFactory(shop=shop, title="Levi's 501")
    html = client.get(f"/@{shop.owner.handle}").get_data(as_text=True)
    assert "Keller Vintage" in html and "Levi&#39;s 501" in html
    assert f'href="/shops/{shop.slug}"' in html


def test_shipping_rule(app):
    shop = ShopFactory(shipping_flat_minor=490, free_shipping_over_minor=5000)
    assert shops.shipping_for(shop, 4999) == 490
    assert shops.shipping_for(shop, 5000) == 0
    shop.free_shipping_over_minor = None
    assert shops.shipping_for(shop, 100000) == 490
