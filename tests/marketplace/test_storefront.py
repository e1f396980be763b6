from __future__ import annotations

import re

from app.commands import Progress
from app.extensions import db
from marketplace.models import Product, Shop
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory


def test_home_is_the_storefront_with_new_and_trending(client):
    ProductFactory(title="Older thing")
    ProductFactory(title="Newest thing")
    ProductFactory(title="Hidden draft", status="draft")
    html = client.get("/").get_data(as_text=True)
    assert "New arrivals" in html and "Trending" in html
    assert html.index("Newest thing") < html.index("Older thing")
    assert "Hidden draft" not in html
    assert 'href="/categories/home"' in html


def test_empty_storefront(client):
    html = client.get("/").get_data(as_text=True)
    assert "Nothing is on sale yet" in html


def test_category_pages(client):
    ProductFactory(title="A mug", category="home/ceramics")
    ProductFactory(title="A vase", category="home/decor")
    ProductFactory(title="Jeans", category="clothing/jeans-trousers")
    root = client.get("/categories/home").get_data(as_text=True)
    assert "A mug" in root and "A vase" in root and "Jeans" not in root
    leaf = client.get("/categories/home/decor").get_data(as_text=True)
    assert "A vase" in leaf and "A mug" not in leaf
    assert 'aria-current="page">Decor' in leaf
    # Another leaf, another root: the kept statements take the category as a parameter.
    other = client.get("/categories/home/ceramics").get_data(as_text=True)
    assert "A mug" in other and "A vase" not in other
    clothes = client.get("/categories/clothing").get_data(as_text=True)
    assert "Jeans" in clothes and "A mug" not in clothes
    index = client.get("/categories").get_data(as_text=True)
    assert "Craft supplies" in index


def test_pages_paginate(app, client):
    shop = ShopFactory(slug="s")
    for n in range(5):
        ProductFactory(shop=shop, title=f"Thing {n}")
    app.config["CATALOGUE_PAGE_SIZE"] = 2
    first = client.get("/shops/s").get_data(as_text=True)
    assert 'rel="next" href="/shops/s?page=2"' in first
    third = client.get("/shops/s?page=3").get_data(as_text=True)
    assert "Thing 0" in third and 'rel="next"' not in third
    assert client.get("/new?page=99999").status_code == 200  # clamped, not an error


def test_navigation_and_account_links(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/categories"' in html and 'href="/search"' in html
    user = UserFactory()
    login(client, user)
    account = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/shop/"' in account and 'href="/account/shop/products"' not in account
    ShopFactory(owner=user)
    account = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/shop/products"' in account


def test_pages_are_accessible_and_script_free(client):
    shop = ShopFactory(slug="s")
    product = ProductFactory(shop=shop, description="Hi")
    login(client, shop.owner)
    for path in (
        "/",
        "/categories",
        "/search?q=product",
        "/shops/s",
        f"/products/{product.id}",
        "/account/shop/",
        "/account/shop/products",
        "/account/shop/products/new",
        f"/account/shop/products/{product.id}/variants",
        f"/account/shop/products/{product.id}/images",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "<h1" in html, path
        assert " style=" not in html and " onclick=" not in html, path
        # No script in the page: only files from the site and data for search engines.
        for script in re.findall(r"<script[^>]*>.*?</script>", html, re.S):
            external = re.fullmatch(r'<script src="/static/[^"]+\.js" defer></script>', script)
            assert external or script.startswith('<script type="application/ld+json">'), script
        for chunk in html.split("<img")[1:]:
            assert "alt=" in chunk.split(">", 1)[0], (path, chunk[:80])
        assert "marketplace.css" in html, path
    assert client.get("/static/marketplace/marketplace.css").status_code == 200


def test_catalogue_in_french(client):
    product = ProductFactory(title="Mug", stock=0)
    html = client.get(f"/products/{product.id}", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert "Épuisé" in html and "Vendu par" in html
    assert "25,00" in html  # money in the French way
    home = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Nouveautés" in home


def test_demo_seed_builds_three_shops(app, client):
    from app.accounts.seed import seed_people
    from marketplace.seed import seed_catalogue

    seed_people(Progress(quiet=True))
    seed_catalogue(Progress(quiet=True))
    db.session.commit()
    shops = {s.owner.handle: s for s in db.session.scalars(db.select(Shop))}
    assert set(shops) == {"ana", "bruno", "emma"}
    for shop in shops.values():
        products = db.session.scalars(db.select(Product).where(Product.shop_id == shop.id)).all()
        assert len(products) == 8 and all(p.images for p in products)
    cardigan = db.session.scalar(db.select(Product).where(Product.title.like("Chunky%")))
    assert [v.label for v in cardigan.variants][:2] == ["S/M / Natural", "L/XL / Natural"]
    html = client.get("/").get_data(as_text=True)
    assert "Atelier Duarte" in html or "North Wool Knits" in html
    assert client.get("/search?q=levis").status_code == 200
    assert "Levi" in client.get("/search?q=levis").get_data(as_text=True)
