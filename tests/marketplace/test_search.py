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
    assert "2 results for “stoneware”" in html
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


def test_a_long_word_matches_as_a_prefix_past_the_indexed_characters(client, catalogue):
    # The index knows words by their first characters ("stonew"): the rest is checked.
    assert len("stoneware") > search.PREFIX_CHARS
    assert ids(client, "q=stonewa") == {catalogue["mug"], catalogue["bowl"], catalogue["jeans"]}
    assert ids(client, "q=stoneware") == {catalogue["mug"], catalogue["bowl"]}
    assert ids(client, "q=stonewash") == {catalogue["jeans"]}
    # An inflection finds the word by its stem ("stonewashed" -> "stonewash"); another word
    # sharing the indexed characters does not.
    assert ids(client, "q=stonewashed") == {catalogue["jeans"]}
    assert ids(client, "q=stonewaxed&exact=true") == set()


def test_relevance_adds_up_where_each_word_is_found(client, app):
    """Each word counts the weight of the fields it starts a word in: title 10, tags 4, shop
    name 2, description 1; ties go to the newest. Both engines give this same order."""
    shop = ShopFactory(name="Linen House")
    made = [
        ProductFactory(shop=shop, title="Plain mug", description="linen"),  # 1 + 2 + 10 = 13
        ProductFactory(shop=shop, title="Linen mug"),  # 10 + 2 + 10 = 22
        ProductFactory(shop=shop, title="Mug", tags="linen"),  # 4 + 2 + 10 = 16
        ProductFactory(shop=shop, title="Another mug", tags="linen"),  # 16, newer
        ProductFactory(shop=shop, title="Linen towel", description="For a mug."),  # 13, newer
    ]
    titles_found = titles(client, "q=linen+mug")
    assert titles_found == ["Linen mug", "Another mug", "Mug", "Linen towel", "Plain mug"]
    assert len(made) == len(titles_found)


@pytest.fixture
def many(app, monkeypatch):
    """Twelve listed products, few enough candidates kept (3) that the newest are a choice."""
    from marketplace import browse

    monkeypatch.setattr(browse, "SEARCH_CANDIDATES", 3)
    shop = ShopFactory(name="Bench", slug="bench")
    other = ShopFactory(name="Other", slug="other")
    made = []
    for n in range(12):
        made.append(
            ProductFactory(
                shop=shop if n % 3 else other,
                title=f"Woollen {'scarf' if n % 2 else 'mug'} {n}",
                description="A soft one." if n % 4 == 0 else "",
                price_minor=1000 + 100 * (n % 5),
            ).id
        )
    return made


PG_WAYS = {
    # The scan of the newest rows: costs that make it always the cheaper.
    "scan": {"PROBE_ROWS": 1, "ROW_COST": 0, "LOOKUP_COST": 0},
    # GIN: the scan never cheaper, the words always rare.
    "gin": {"ROW_COST": 10**6, "COMMON_WORDS": 2},
    # The filters' way: the scan never cheaper, the words always common.
    "filters": {"ROW_COST": 10**6, "COMMON_WORDS": 0},
}


@pytest.mark.parametrize("way", sorted(PG_WAYS))
def test_every_way_to_the_candidates_finds_the_newest(client, many, monkeypatch, way, app):
    """Each way PostgreSQL may take finds the same candidates (the newest matches that pass
    the filters); on SQLite there is one way, and the same answers."""
    for name, value in PG_WAYS[way].items():
        monkeypatch.setattr(search, name, value)
    newest_first = list(reversed(many))
    assert [i["id"] for i in fetch(client, "q=wool&sort=newest")] == newest_first[:3]
    scarves = [pid for n, pid in enumerate(many) if n % 2]
    assert ids(client, "q=woollen+scarf") == set(scarves[-3:])
    at_bench = [pid for n, pid in enumerate(many) if n % 3]
    assert ids(client, "q=woo&shop=bench") == set(at_bench[-3:])
    soft = [pid for n, pid in enumerate(many) if n % 4 == 0]
    assert ids(client, "q=soft+woollen&sort=price_asc") == set(soft)
    assert ids(client, "q=woollen+nothing") == set()
    # A price range, which the index answers with the words (its bands), then the products.
    priced = [pid for n, pid in enumerate(many) if n % 5 in (1, 2)]
    assert ids(client, "q=woollen&min_price=1100&max_price=1200") == set(priced[-3:])
    assert ids(client, "q=woollen+scarf&min_price=1100&max_price=1200&sort=newest") == {
        pid for n, pid in enumerate(many) if n % 5 in (1, 2) and n % 2
    }
    # Relevance among the candidates: "mug" in the title counts, "soft" only in descriptions.
    assert fetch(client, "q=woollen+mug")[0]["title"] == "Woollen mug 10"


def fetch(client, query: str) -> list[dict]:
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_searches_of_one_shape_share_a_statement_but_not_their_values(client, catalogue):
    """A text search's statement is built once per shape and kept; the words and the filters'
    values are its parameters, so the second search of a shape answers its own question."""
    from app.database import _KEPT_STATEMENTS

    def kept() -> set[object]:
        return {key for key in _KEPT_STATEMENTS if key[0] == "browse.text_search"}

    before = kept()
    assert titles(client, "q=mug") == ["Speckled stoneware mug"]
    assert titles(client, "q=vase") == ["Crème bud vase"]  # one short word, as before
    assert titles(client, "q=stoneware&shop=atelier&max_price=3000") == ["Speckled stoneware mug"]
    assert titles(client, "q=stonewash&shop=keller&max_price=9000") == ["Levi's 501 jeans"]
    assert titles(client, "q=stoneware&shop=keller&max_price=3000") == []
    assert sorted(titles(client, "q=stoneware&category=home")) == [
        "Serving bowl",
        "Speckled stoneware mug",
    ]
    assert titles(client, "q=vase&category=home") == ["Crème bud vase"]
    # Seven searches, four shapes: one short word; a long one with a shop and a price; a long
    # one in a category; a short one in a category.
    assert len(kept() - before) <= 4 and len(kept()) >= 4
