"""The filters the search index answers with the words (#17, #18): each product's row carries
tokens for its price's band and decade and for its category, so that a word with a price range
or a category is one look into the index. A band only narrows: the range is still checked on
the product, so the results are exactly those of the filters. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import column, select, table

from app.extensions import db
from marketplace import products as product_services
from marketplace import search
from marketplace.models import SEARCH_TABLE, Product
from marketplace.rules import MAX_PRICE_MINOR
from tests.factories import ProductFactory, ShopFactory


def ids(client, query: str) -> set[int]:
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def indexed_facets(product_id: int) -> set[str]:
    key = "product_id" if db.engine.dialect.name == "postgresql" else "rowid"
    index = table(SEARCH_TABLE, column(key), column(search.FACETS))
    text = db.session.scalar(select(index.c[search.FACETS]).where(index.c[key] == product_id))
    return set((text or "").split())


def test_a_price_on_a_band_edge_is_in_the_band_it_starts():
    assert search.price_band(2999) == (2500, 1000)
    assert search.price_band(3000) == (3000, 1000)
    assert search.price_band(3001) == (3000, 1000)
    assert search.price_band(999) == (800, 100)
    assert search.price_band(1000) == (1000, 1000)
    assert search.price_band(1) == (1, 1)
    assert search.price_band(MAX_PRICE_MINOR) == (MAX_PRICE_MINOR, MAX_PRICE_MINOR)


def test_a_products_facets_are_its_band_decade_and_categories():
    assert search.facets(2800, "home/decor").split() == [
        "_b2500",
        "_d1000",
        "_chome",
        "_chome_decor",
    ]
    assert search.facets(3000, "clothing/jeans-trousers").split() == [
        "_b3000",
        "_d1000",
        "_cclothing",
        "_cclothing_jeans_trousers",
    ]


def test_a_price_range_is_whole_decades_and_the_bands_at_its_ends():
    assert search.price_tokens(2000, 5000) == ("_b2000", "_b2500", "_b3000", "_b4000", "_b5000")
    assert search.price_tokens(1000, 9999) == ("_d1000",)
    assert search.price_tokens(950, 12500) == ("_b800", "_d1000", "_b10000", "_b12500")
    assert search.price_tokens(950, 12499) == ("_b800", "_d1000", "_b10000")
    # No bound above: every decade from the low one; no bound at all: no token.
    assert search.price_tokens(100_000, None)[:2] == ("_d100000", "_d1000000")
    assert search.price_tokens(None, None) == ()
    assert search.price_tokens(0, None) == ()
    assert search.filter_facets("home", 2000, 2400) == (("_chome",), ("_b2000",))


prices = st.integers(min_value=1, max_value=MAX_PRICE_MINOR)


@settings(max_examples=400, deadline=None)
@given(price=prices, low=st.none() | prices, high=st.none() | prices)
def test_a_price_in_a_range_has_one_of_its_tokens(price, low, high):
    """Never a match lost: a price within the range has one of the range's tokens; and the
    tokens narrow: a band or decade is offered only when some price of it is in the range."""
    tokens = set(search.price_tokens(low, high))
    inside = (low is None or price >= low) and (high is None or price <= high)
    if not tokens:
        assert (low or 0) <= 1 and high is None
        return
    has = tokens & set(search.facets(price, "").split())
    if inside:
        assert has
    for token in tokens:
        start = int(token[2:])
        assert high is None or start <= high


@pytest.fixture
def priced(app):
    shop = ShopFactory(name="Atelier Prix", slug="prix")
    return {
        "edge": ProductFactory(shop=shop, title="Linen apron", price_minor=3000).id,
        "below": ProductFactory(shop=shop, title="Linen napkin", price_minor=2999).id,
        "decor": ProductFactory(
            shop=shop, title="Linen lampshade", price_minor=4500, category="home/decor"
        ).id,
        "variants": ProductFactory(
            shop=shop,
            title="Linen shirt",
            category="clothing/tops",
            option1_name="Size",
            variants=[
                product_services.VariantInput(price_minor=2000, stock=2, option1="S"),
                product_services.VariantInput(price_minor=6000, stock=2, option1="XL"),
            ],
        ).id,
    }


def test_a_price_on_a_band_edge_is_found_by_a_range_starting_or_ending_there(client, priced):
    assert ids(client, "q=linen&min_price=3000&max_price=3000") == {priced["edge"]}
    assert ids(client, "q=linen&min_price=2999&max_price=2999") == {priced["below"]}
    assert ids(client, "q=linen&max_price=2999") == {priced["below"], priced["variants"]}
    assert ids(client, "q=linen&min_price=3000&max_price=4500") == {priced["edge"], priced["decor"]}
    assert ids(client, "q=linen&min_price=3001") == {priced["decor"]}


def test_variants_search_by_the_lowest_price_as_the_filter_does(client, priced):
    """The price filter compares a product's lowest price (its card's "from" price): its band
    is that price's, whatever its other variants cost."""
    assert indexed_facets(priced["variants"]) >= {"_b2000", "_d1000"}
    assert priced["variants"] in ids(client, "q=linen&min_price=1500&max_price=2500")
    assert priced["variants"] not in ids(client, "q=linen&min_price=5000&max_price=7000")


def test_a_product_whose_price_changes_moves_bands(client, priced):
    product = db.session.get(Product, priced["edge"])
    variant = product.variants[0]
    product_services.quick_edit(
        product.shop.owner, product, product_services.QuickEdit(variants={variant.id: (900, None)})
    )
    db.session.commit()
    assert indexed_facets(priced["edge"]) >= {"_b800", "_d100"}
    assert "_b3000" not in indexed_facets(priced["edge"])
    assert priced["edge"] not in ids(client, "q=linen&min_price=3000&max_price=3000")
    assert ids(client, "q=linen&min_price=800&max_price=999") == {priced["edge"]}


def test_a_word_with_a_category_root_or_leaf(client, priced):
    assert ids(client, "q=linen&category=home") == {
        priced["edge"],
        priced["below"],
        priced["decor"],
    }
    assert ids(client, "q=linen&category=home/decor") == {priced["decor"]}
    assert ids(client, "q=linen&category=clothing/tops&max_price=2000") == {priced["variants"]}
    product = db.session.get(Product, priced["decor"])
    product_services.update_product(
        product.shop.owner,
        product,
        product_services.ProductDetails(title=product.title, category="home/textiles"),
    )
    db.session.commit()
    assert ids(client, "q=linen&category=home/decor") == set()
    assert ids(client, "q=linen&category=home/textiles") == {priced["decor"]}


def test_a_rebuilt_index_has_the_facets(client, priced):
    before = {pid: indexed_facets(pid) for pid in priced.values()}
    assert search.rebuild_index() == len(priced)
    db.session.commit()
    assert {pid: indexed_facets(pid) for pid in priced.values()} == before
    assert ids(client, "q=linen&min_price=3000&max_price=3000") == {priced["edge"]}


def test_the_facets_are_never_found_as_words(client, priced):
    """A query word is letters and digits: it never finds a facet's token."""
    assert ids(client, "q=b3000") == set()
    assert ids(client, "q=chome") == set()
    assert ids(client, "q=_b3000") == set()
