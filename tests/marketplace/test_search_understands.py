"""A search that understands (#18): plurals and inflections in English and French, typos
corrected, results counted, the applied filters shown as chips. The same table of queries
runs on SQLite and on PostgreSQL (TEST_DATABASE_URL): both must find the same products and
suggest the same words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from marketplace import products as product_services
from marketplace import search
from marketplace.models import Product
from tests.factories import ProductFactory, ShopFactory

TITLES = {
    "mug": "Speckled stoneware mug",
    "bowl": "Ceramic serving bowl",
    "tasse": "Tasse en grès émaillé",
    "bougie": "Bougie parfumée à la figue",
    "candle": "Soy candle, fig and cedar",
    "collier": "Collier en cuir tressé",
    "jacket": "Waxed cotton jacket",
    "blanket": "Knitted baby blanket",
}


@pytest.fixture
def catalogue(app):
    studio = ShopFactory(name="Atelier Duarte", slug="atelier")
    maison = ShopFactory(name="Maison Lune", slug="lune")
    keller = ShopFactory(name="Keller Vintage", slug="keller")
    made = {
        "mug": ProductFactory(
            shop=studio, title=TITLES["mug"], tags="coffee, stoneware", price_minor=2800
        ),
        "bowl": ProductFactory(shop=studio, title=TITLES["bowl"], price_minor=6500),
        "tasse": ProductFactory(
            shop=studio,
            title=TITLES["tasse"],
            description="Une tasse pour le café du matin.",
            price_minor=2200,
        ),
        "bougie": ProductFactory(
            shop=maison, title=TITLES["bougie"], category="home/decor", price_minor=1900
        ),
        "candle": ProductFactory(
            shop=maison, title=TITLES["candle"], category="home/decor", price_minor=2400
        ),
        "collier": ProductFactory(
            shop=maison,
            title=TITLES["collier"],
            category="accessories/jewellery",
            price_minor=4500,
        ),
        "jacket": ProductFactory(
            shop=keller,
            title=TITLES["jacket"],
            category="clothing/outerwear",
            condition="good",
            price_minor=9500,
        ),
        "blanket": ProductFactory(
            shop=keller,
            title=TITLES["blanket"],
            description="Merino, soft enough for newborns.",
            price_minor=5200,
        ),
    }
    return {key: product.id for key, product in made.items()}


def search_api(client, query: str) -> dict:
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# (query, the products found, the correction suggested, whether the results are its results)
QUERIES = [
    # English plurals and inflections
    ("mug", {"mug"}, "", False),
    ("mugs", {"mug"}, "", False),
    ("bowls", {"bowl"}, "", False),
    ("candles", {"candle"}, "", False),
    ("jackets", {"jacket"}, "", False),
    ("knitting", {"blanket"}, "", False),  # "knitted": both "knit"
    ("babies", {"blanket"}, "", False),  # "baby": both "babi"
    ("ceramics", {"bowl"}, "", False),
    ("waxing jackets", {"jacket"}, "", False),
    # French plurals and inflections
    ("tasses", {"tasse"}, "", False),
    ("bougies", {"bougie"}, "", False),
    ("colliers", {"collier"}, "", False),
    ("cuirs", {"collier"}, "", False),
    ("cuir", {"collier"}, "", False),
    ("parfumées", {"bougie"}, "", False),
    ("bougie parfumé", {"bougie"}, "", False),
    ("émaillées", {"tasse"}, "", False),
    ("tressés", {"collier"}, "", False),
    # Prefixes, as typed so far
    ("cera", {"bowl"}, "", False),
    ("sto", {"mug"}, "", False),
    ("stonewa", {"mug"}, "", False),
    ("bou", {"bougie"}, "", False),
    ("fig", {"bougie", "candle"}, "", False),
    # Accents and case
    ("gres", {"tasse"}, "", False),
    ("GRÈS", {"tasse"}, "", False),
    ("EMAILLE", {"tasse"}, "", False),
    # Stems are whole words, not prefixes: no stray matches
    ("bougainvillea", set(), "", False),  # its French stem "bougainvill" is no prefix
    ("cereal", set(), "", False),
    # Typos: the closest indexed word, and what it finds
    ("stonewear", {"mug"}, "stoneware", True),
    ("jaket", {"jacket"}, "jacket", True),
    ("ceramc", {"bowl"}, "ceramic", True),
    ("bougei", {"bougie"}, "bougie", True),
    ("speckled stonewear", {"mug"}, "speckled stoneware", True),
    ("colier", {"collier"}, "collier", True),
    # Nothing like it: no results, no suggestion
    ("xqzvvk", set(), "", False),
    ("stonewear xqzvvk", set(), "", False),
    # Known words that find nothing together are not "corrected"
    ("mug jacket", set(), "", False),
]


@pytest.mark.parametrize(("query", "finds", "suggestion", "corrected"), QUERIES)
def test_what_each_query_finds_and_suggests(client, catalogue, query, finds, suggestion, corrected):
    body = search_api(client, f"q={query}")
    assert {item["title"] for item in body["items"]} == {TITLES[key] for key in finds}
    assert body["total"] == len(finds)
    assert body["suggestion"] == suggestion
    assert body["corrected"] is corrected


def test_relevance_counts_a_stem_as_a_word(client, catalogue):
    """A stem found in a title counts as a word found in a title: "mugs" ranks the mug (title)
    above a product whose tags only say "mug"."""
    shop = ShopFactory(name="Other")
    ProductFactory(shop=shop, title="Gift box", tags="mug, tea")
    titles = [item["title"] for item in search_api(client, "q=mugs")["items"]]
    assert titles == [TITLES["mug"], "Gift box"]


IRREGULAR = {
    "knife": "Chef's knife in carbon steel",
    "scarves": "Silk scarves, a set of three",
    "shelf": "Oak wall shelf",
    "glass": "Recycled glass tumbler",
    "travail": "Tablier de travail en lin",
    "knit": "Knit beanie",
}

# Irregular plurals, both ways: the plural finds the singular and the singular the plural.
IRREGULAR_QUERIES = [
    ("knives", {"knife"}),
    ("knife", {"knife"}),
    ("scarf", {"scarves"}),
    ("scarves", {"scarves"}),
    ("shelves", {"shelf"}),
    ("glasses", {"glass"}),
    ("travaux", {"travail"}),
    ("kni", {"knife", "knit"}),  # a prefix as typed so far still finds both
    ("wolves", set()),
]


@pytest.mark.parametrize(("query", "finds"), IRREGULAR_QUERIES)
def test_irregular_plurals_find_their_singular(client, app, query, finds):
    shop = ShopFactory(name="Quincaillerie", slug="quincaillerie")
    for title in IRREGULAR.values():
        ProductFactory(shop=shop, title=title)
    body = search_api(client, f"q={query}")
    assert {item["title"] for item in body["items"]} == {IRREGULAR[key] for key in finds}
    assert body["suggestion"] == ""


def test_the_words_as_typed_are_searched_on_request(client, catalogue):
    body = search_api(client, "q=stonewear&exact=true")
    assert body["items"] == [] and body["total"] == 0
    assert body["suggestion"] == "stoneware" and body["corrected"] is False


def test_a_correction_that_finds_nothing_with_the_filters_is_only_suggested(client, catalogue):
    body = search_api(client, "q=stonewear&category=clothing")
    assert body["items"] == [] and body["total"] == 0
    assert body["suggestion"] == "stoneware" and body["corrected"] is False


def test_counts_stop_at_the_candidates_ranked(client, catalogue, monkeypatch):
    from marketplace import browse

    monkeypatch.setattr(browse, "SEARCH_CANDIDATES", 3)
    body = search_api(client, "q=atelier&per_page=2")  # three products of the shop
    assert (body["total"], body["more"], len(body["items"])) == (3, True, 2)
    assert search_api(client, "per_page=2")["more"] is True  # no words: eight listed
    assert search_api(client, "q=mug")["more"] is False


def vocabulary() -> dict[str, int]:
    rows = db.session.execute(select(search._vocabulary.c.word, search._vocabulary.c.products))
    return dict(rows.all())


def test_the_vocabulary_follows_the_catalogue(client, catalogue):
    """Each indexed word, with how many listed products have it: a word leaves when its last
    product goes, so typos are never corrected into words that find nothing."""
    words = vocabulary()
    assert words["stoneware"] == 1 and words["atelier"] == 3 and words["en"] == 2
    assert "tass" not in words  # stems are not offered as corrections
    jacket = db.session.get(Product, catalogue["jacket"])
    product_services.update_product(
        jacket.shop.owner,
        jacket,
        product_services.ProductDetails(title="Waxed cotton coat", category="clothing/outerwear"),
    )
    db.session.commit()
    words = vocabulary()
    assert "jacket" not in words and words["coat"] == 1 and words["waxed"] == 1
    assert search_api(client, "q=jaket")["suggestion"] == ""
    assert search_api(client, "q=coatt")["suggestion"] == "coat"
    # A rebuild counts the same words.
    assert search.rebuild_index() == len(catalogue)
    db.session.commit()
    assert vocabulary() == words


def test_trigrams_are_pg_trgm_s(app):
    """The similarity SQLite computes is pg_trgm's: the same trigrams of a word."""
    assert search.trigrams("cat") == {"  c", " ca", "cat", "at "}
    if db.session.get_bind().dialect.name == "postgresql":
        for word in ("stoneware", "jaket", "a1b2", "x"):
            shown = db.session.scalar(select(func.show_trgm(word)))
            assert set(shown) == search.trigrams(word)


# --- the page -----------------------------------------------------------------------------


def page(client, query: str) -> str:
    response = client.get(f"/search?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_counts_the_results(client, catalogue):
    assert "1 result for “mugs”" in page(client, "q=mugs")
    assert "2 results for “fig”" in page(client, "q=fig")
    assert "0 results for “xqzvvk”" in page(client, "q=xqzvvk")
    assert "8 products" in page(client, "")
    assert "Did you mean" not in page(client, "q=xqzvvk")


def test_the_page_shows_a_correction_and_links_the_words_as_typed(client, catalogue):
    html = page(client, "q=stonewear")
    assert "1 result for “stoneware”" in html and TITLES["mug"] in html
    assert re.search(
        r"Showing results for <a href=\"/search\?q=stoneware\"><strong>stoneware", html
    )
    assert 'Search instead for <a href="/search?q=stonewear&amp;exact=y">stonewear</a>' in html
    typed = page(client, "q=stonewear&exact=y")
    assert "0 results for “stonewear”" in typed and TITLES["mug"] not in typed
    assert 'Did you mean <a href="/search?q=stoneware"><strong>stoneware</strong></a>?' in typed


def test_the_page_shows_the_applied_filters_as_removable_chips(client, catalogue):
    html = page(client, "q=fig&category=home&max_price=20&in_stock=y&sort=price_asc")
    assert "1 result for “fig”" in html
    chips = re.findall(r'<a class="filter-chip" href="([^"]+)">(.*?)</a>', html)
    # Each chip: what a screen reader says, the label, a cross hidden from it.
    labels = [re.sub(r'<span class="filter-chip-x"[^<]*</span>', "", label) for _h, label in chips]
    assert [re.sub(r"<[^>]+>", "", label) for label in labels] == [
        "Remove filter: Home",
        "Remove filter: Up to €20.00",
        "Remove filter: In stock only",
    ]
    hrefs = [href.replace("&amp;", "&") for href, _label in chips]
    assert hrefs[0] == "/search?q=fig&max_price=20&in_stock=y&sort=price_asc"
    assert hrefs[1] == "/search?q=fig&category=home&in_stock=y&sort=price_asc"
    # Following a chip's link removes that filter: both candles are found again.
    assert "2 results for “fig”" in page(client, hrefs[1].removeprefix("/search?"))
    assert 'class="filter-chips-clear" href="/search?q=fig"' in html
    assert "Remove filter: </span>Condition: Good<" in page(client, "q=jacket&condition=good")
    # The filters' panel is closed (the chips say what applies), open on a wrong filter.
    assert '<details class="card search-panel">' in html
    wrong = client.get("/search?q=fig&min_price=abc").get_data(as_text=True)
    assert '<details class="card search-panel" open>' in wrong
