"""Search: the same results on SQLite (FTS5) and PostgreSQL (tsvector); the suite runs on
both (SQLite by default, PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import pytest

from app.extensions import db
from marketplace import products as product_services
from marketplace import search
from tests.factories import ProductFactory, ShopFactory


@pytest.fixture
def catalogue(app):
    ceramics = ShopFactory(name="Atelier Duarte", slug="atelier")
    denim = ShopFactory(name="Keller Vintage", slug="keller")
    made = {
        "mug": ProductFactory(
            shop=ceramics,
            title="Speckled stoneware mug",
            description="A mug for your morning café.",
            tags="coffee, stoneware",
            price_minor=2800,
            stock=5,
        ),
        "bowl": ProductFactory(
            shop=ceramics,
            title="Serving bowl",
            description="Wide and shallow.",
            tags="stoneware",
            price_minor=6500,
            stock=0,
            category="home/ceramics",
        ),
        "vase": ProductFactory(
            shop=ceramics,
            title="Crème bud vase",
            category="home/decor",
            price_minor=1800,
            condition="like_new",
        ),
        "jeans": ProductFactory(
            shop=denim,
            title="Levi's 501 jeans",
            description="Stonewash, button fly.",
            tags="denim, 90s",
            category="clothing/jeans-trousers",
            price_minor=8500,
            condition="good",
        ),
        "draft": ProductFactory(shop=denim, title="Stoneware draft", status="draft"),
    }
    return {key: product.id for key, product in made.items()}


def titles(client, query: str) -> list[str]:
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def ids(client, query: str) -> set[int]:
    return {item["id"] for item in client.get(f"/api/v1/search?{query}").get_json()["items"]}


def test_matches_title_description_tags_and_shop_name(client, catalogue):
    assert ids(client, "q=speckled") == {catalogue["mug"]}  # title
    assert ids(client, "q=shallow") == {catalogue["bowl"]}  # description
    assert ids(client, "q=90s") == {catalogue["jeans"]}  # tag
    assert ids(client, "q=keller") == {catalogue["jeans"]}  # shop name
    assert ids(client, "q=duarte") == {catalogue["mug"], catalogue["bowl"], catalogue["vase"]}


def test_every_word_must_match_as_a_prefix_without_accents(client, catalogue):
    assert ids(client, "q=stone") == {catalogue["mug"], catalogue["bowl"], catalogue["jeans"]}
    assert ids(client, "q=stone+mug") == {catalogue["mug"]}
    assert ids(client, "q=creme") == {catalogue["vase"]}  # "Crème"
    assert ids(client, "q=CAFE") == {catalogue["mug"]}  # "café"
    assert ids(client, "q=levi%27s") == {catalogue["jeans"]}
    assert ids(client, "q=nothing+like+this") == set()


def test_hostile_queries_are_just_words(client, catalogue):
    for query in ('"', "*", "mug OR vase", "NEAR(mug)", "' & | ! :*", "-mug", "mug)"):
        response = client.get("/api/v1/search", query_string={"q": query})
        assert response.status_code == 200, query
    assert ids(client, "q=mug+OR+vase") == set()  # "or" is a word here, not an operator


def test_drafts_and_paused_shops_are_not_found(client, catalogue):
    assert "Stoneware draft" not in titles(client, "q=stoneware")


def test_filters(client, catalogue):
    assert ids(client, "category=home") == {catalogue["mug"], catalogue["bowl"], catalogue["vase"]}
    assert ids(client, "category=home/decor") == {catalogue["vase"]}
    assert ids(client, "min_price=2000&max_price=7000") == {catalogue["mug"], catalogue["bowl"]}
    assert ids(client, "condition=good") == {catalogue["jeans"]}
    assert ids(client, "shop=keller") == {catalogue["jeans"]}
    assert ids(client, "q=stoneware&in_stock=true") == {catalogue["mug"]}
    assert ids(client, "q=stone&category=clothing") == {catalogue["jeans"]}


def test_sorting(client, catalogue):
    assert titles(client, "sort=price_asc") == [
        "Crème bud vase",
        "Speckled stoneware mug",
        "Serving bowl",
        "Levi's 501 jeans",
    ]
    assert titles(client, "sort=price_desc")[0] == "Levi's 501 jeans"
    assert titles(client, "sort=newest")[0] == "Levi's 501 jeans"  # the last one listed
    # Relevance: a title match ranks above a description or shop-name match.
    assert titles(client, "q=stoneware")[0] == "Speckled stoneware mug"
    assert titles(client, "q=mug")[0] == "Speckled stoneware mug"


def test_bad_filters_are_refused(client, catalogue):
    assert client.get("/api/v1/search?sort=random").status_code == 422
    response = client.get("/api/v1/search?category=nope")
    assert response.status_code == 422 and "category" in response.get_json()["errors"]
    assert client.get("/api/v1/search?min_price=900&max_price=100").status_code == 422
    page = client.get("/search?min_price=abc&q=mug")
    assert page.status_code == 422 and "Enter an amount" in page.get_data(as_text=True)


def test_search_page(client, catalogue):
    html = client.get("/search?q=stoneware&sort=price_asc").get_data(as_text=True)
    assert html.index("Speckled stoneware mug") < html.index("Serving bowl")
    assert "Results for “stoneware”" in html
    assert 'role="search"' in html and 'for="q"' in html
    empty = client.get("/search?q=zzzz").get_data(as_text=True)
    assert "Nothing matches" in empty


def test_pagination(client, catalogue):
    first = client.get("/api/v1/search?q=stone&per_page=2&sort=price_asc").get_json()
    second = client.get("/api/v1/search?q=stone&per_page=2&sort=price_asc&page=2").get_json()
    assert first["has_next"] and not second["has_next"]
    assert [i["title"] for i in first["items"] + second["items"]] == [
        "Speckled stoneware mug",
        "Serving bowl",
        "Levi's 501 jeans",
    ]


def test_index_follows_changes(app, client, catalogue):
    from marketplace.models import Product

    mug = db.session.get(Product, catalogue["mug"])
    product_services.update_product(
        mug.shop.owner,
        mug,
        product_services.ProductDetails(title="Porcelain cup", category="home/ceramics"),
    )
    db.session.commit()
    assert ids(client, "q=speckled") == set()
    assert ids(client, "q=porcelain") == {catalogue["mug"]}
    # A rebuild (after a bulk import) finds the same.
    assert search.rebuild_index() == 4
    db.session.commit()
    assert ids(client, "q=porcelain") == {catalogue["mug"]}
