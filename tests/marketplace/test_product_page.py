"""The product page as a shopper sees it: a gallery that works without JavaScript, reviews
with their average (or the shop's, said so), the curators who picked it, more from the shop,
and the product described for search engines, all within a small, constant number of queries."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from app.extensions import db
from app.models import utcnow
from marketplace import products as product_services
from marketplace.models import Product
from social.models import Suspension
from tests.factories import (
    CollectionFactory,
    PickFactory,
    ProductFactory,
    ReviewFactory,
    ShopFactory,
    UserFactory,
)
from tests.marketplace.helpers import count_queries, image_bytes


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, in order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))

    def all(self, tag: str, **having: str) -> list[dict[str, str]]:
        return [
            attrs
            for name, attrs in self.found
            if name == tag
            and all(
                value in attrs.get(key.rstrip("_"), "").split() for key, value in having.items()
            )
        ]


def section(html: str, name: str) -> str:
    """The HTML of the <section> with that id or heading (the page's sections do not nest)."""
    opening = rf'<section[^>]* (?:id|aria-labelledby)="{name}"[^>]*>'
    match = re.search(opening + r"(.*?)</section>", html, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def structured_data(html: str) -> dict[str, Any]:
    (found,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return dict(json.loads(found))


def card_titles(html: str) -> list[str]:
    return re.findall(r'class="product-card-title">([^<]+)<', html)


def page(client: Any, product: Product) -> str:
    response = client.get(f"/products/{product.id}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def with_pictures(product: Product, *alts: str, size: tuple[int, int] = (1600, 1200)) -> Product:
    product_services.add_images(
        product.shop.owner,
        product,
        [
            product_services.ImageUpload(image_bytes(size=size, colour=(n * 40, 90, 90)), alt)
            for n, alt in enumerate(alts)
        ],
    )
    db.session.commit()
    return product


# --- reviews ------------------------------------------------------------------------------------


def test_the_products_reviews_show_with_their_average_newest_first(client):
    mug = ProductFactory(title="Speckled mug")
    now = utcnow()
    for days, rating, body in [(30, 5, "First one"), (20, 4, "Second one"), (10, 3, "Third one")]:
        ReviewFactory(product=mug, rating=rating, body=body, created_at=now - timedelta(days=days))
    other_shop = ProductFactory(title="Someone else's mug")
    ReviewFactory(product=other_shop, rating=1, body="Not this shop")

    html = page(client, mug)
    reviews = text(section(html, "reviews"))
    assert "4.0 out of 5 from 3 reviews" in reviews
    # Newest first, each with its stars told in words for screen readers.
    assert reviews.index("Third one") < reviews.index("Second one") < reviews.index("First one")
    assert "3 out of 5 stars" in reviews and "5 out of 5 stars" in reviews
    assert "Not this shop" not in html and "of the shop" not in reviews
    assert "See all" not in reviews  # all three are shown
    # Beside the title: the stars, and a link down to the reviews.
    assert 'href="#reviews"' in html and "3 reviews" in text(html.split("<h1>")[1][:900])


def test_only_the_newest_three_show_with_a_link_to_all_of_them(client):
    mug = ProductFactory(title="Speckled mug")
    now = utcnow()
    for n in range(5):
        ReviewFactory(product=mug, rating=4, body=f"Review {n}", created_at=now - timedelta(n))

    reviews = text(section(page(client, mug), "reviews"))
    assert [f"Review {n}" in reviews for n in range(5)] == [True, True, True, False, False]
    assert "See all 5 reviews" in reviews
    every = client.get(f"/products/{mug.id}/reviews")
    assert every.status_code == 200
    listed = text(every.get_data(as_text=True))
    assert all(f"Review {n}" in listed for n in range(5)) and "4.0 out of 5" in listed


def test_a_product_without_reviews_says_so(client):
    mug = ProductFactory(title="Speckled mug")

    html = page(client, mug)
    assert "No reviews yet." in text(section(html, "reviews"))
    assert 'href="#reviews"' not in html
    assert "aggregateRating" not in structured_data(html)


def test_without_its_own_reviews_the_shop_reviews_show_and_say_so(client):
    shop = ShopFactory(name="Atelier")
    mug = ProductFactory(shop=shop, title="Speckled mug")
    bowl = ProductFactory(shop=shop, title="Ramen bowl")
    for n in range(4):
        ReviewFactory(product=bowl, rating=5 - n % 2, body=f"Bowl review {n}")

    html = page(client, mug)
    reviews = text(section(html, "reviews"))
    assert "Reviews of the shop" in reviews
    assert "No one has reviewed this item yet" in reviews
    assert "4.5 out of 5 from 4 reviews of the shop" in reviews
    assert "About Ramen bowl" in reviews  # each says what it was about
    assert f'href="/products/{bowl.id}/ramen-bowl"' in section(html, "reviews")
    assert "See all 4 reviews of the shop" in reviews
    assert 'href="#reviews"' not in html  # no stars beside the title: they are not the mug's
    # Search engines get a product's own rating only.
    assert "aggregateRating" not in structured_data(html)
    every = text(client.get(f"/shops/{shop.slug}/reviews").get_data(as_text=True))
    assert all(f"Bowl review {n}" in every for n in range(4))


def test_a_review_shows_on_the_cached_page_at_once(client):
    mug = ProductFactory(title="Speckled mug")
    assert "No reviews yet." in page(client, mug)
    assert "No reviews yet." in page(client, mug)  # from the cache now
    ReviewFactory(product=mug, rating=4, body="Just arrived")
    assert "Just arrived" in page(client, mug)


def test_the_reviews_pages_of_an_unlisted_product_are_not_found(client):
    draft = ProductFactory(status="draft")
    assert client.get(f"/products/{draft.id}/reviews").status_code == 404
    assert client.get("/shops/nobody/reviews").status_code == 404


# --- structured data ----------------------------------------------------------------------------


def test_the_page_describes_the_product_for_search_engines(client):
    shop = ShopFactory(name="Atelier")
    mug = ProductFactory(
        shop=shop,
        title="Speckled mug",
        description="A 300 ml <mug>.",
        option1_name="Glaze",
        variants=[
            product_services.VariantInput(price_minor=2800, stock=2, option1="Oatmeal"),
            product_services.VariantInput(price_minor=3000, stock=0, option1="Charcoal"),
        ],
    )
    with_pictures(mug, "front", "side")
    ReviewFactory(product=mug, rating=5, body="Great </script><script>alert(1)</script>")
    ReviewFactory(product=mug, rating=4, body="")

    html = page(client, mug)
    assert "<script>alert(1)" not in html  # the JSON cannot close its script element
    data = structured_data(html)
    assert data["@type"] == "Product" and data["name"] == "Speckled mug"
    assert data["description"] == "A 300 ml <mug>."
    assert data["url"] == f"http://kindred.test/products/{mug.id}/speckled-mug"
    assert len(data["image"]) == 2 and all(
        url.startswith("http://kindred.test/media/") for url in data["image"]
    )
    offer = data["offers"]
    assert offer["@type"] == "AggregateOffer"
    prices = (offer["lowPrice"], offer["highPrice"], offer["priceCurrency"])
    assert prices == ("28.00", "30.00", "EUR")
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["seller"]["name"] == "Atelier"
    assert data["aggregateRating"]["ratingValue"] == 4.5
    assert data["aggregateRating"]["reviewCount"] == 2
    assert [r["reviewRating"]["ratingValue"] for r in data["review"]] == [4, 5]


def test_a_sold_out_product_is_described_as_out_of_stock(client):
    lamp = ProductFactory(title="Lamp", price_minor=1250, stock=0)
    offer = structured_data(page(client, lamp))["offers"]
    assert offer["@type"] == "Offer" and offer["price"] == "12.50"
    assert offer["availability"] == "https://schema.org/OutOfStock"
    # A price for machines: a dot whatever the visitor reads (the page says 12,50 € in French).
    french = client.get(f"/products/{lamp.id}", headers={"Accept-Language": "fr"})
    assert "12,50" in text(french.get_data(as_text=True))
    assert structured_data(french.get_data(as_text=True))["offers"]["price"] == "12.50"


# --- curators -----------------------------------------------------------------------------------


def test_the_curators_who_picked_it_link_to_their_picks(client):
    mug = ProductFactory(title="Speckled mug")
    chloe = UserFactory(handle="chloe", display_name="Chloé Martin")
    dev = UserFactory(handle="dev", display_name="Dev Patel")
    chloe_pick = PickFactory(author=chloe, product=mug, note="Every single morning.")
    dev_pick = PickFactory(author=dev, product=mug, note="")
    collection = CollectionFactory(owner=dev, title="Kit that lasts", products=[mug])
    hidden = UserFactory(handle="gone", display_name="Gone Person")
    PickFactory(author=hidden, product=mug, note="Spam")
    db.session.add(Suspension(user_id=hidden.id, reason="spam"))  # their picks are not shown
    db.session.commit()

    html = page(client, mug)
    picked = section(html, "picked-by-heading")
    tags = Tags(picked)
    curator_links = {a["href"] for a in tags.all("a", class_="curator")}
    assert {f"/picks/{chloe_pick.id}", f"/picks/{dev_pick.id}"} <= curator_links
    words = text(picked)
    assert "Chloé Martin @chloe" in words and "Dev Patel @dev" in words
    assert "Gone Person" not in words
    assert "Every single morning." in words
    assert "Read the pick" in words  # each link says where it goes, for screen readers
    # Everyone gets an avatar: the picture, or the initial in a circle.
    assert len(tags.all("img", class_="avatar")) + picked.count("avatar-empty") >= 3
    assert f'href="/collections/{collection.id}"' in picked and "Kit that lasts" in words


def test_no_picks_yet(client):
    mug = ProductFactory(title="Speckled mug")
    assert "No one has picked this yet." in text(section(page(client, mug), "picked-by-heading"))


# --- more from this shop ------------------------------------------------------------------------


def test_more_from_the_shop_leaves_out_the_product_and_what_is_not_listed(client):
    shop = ShopFactory(name="Atelier")
    mug = ProductFactory(shop=shop, title="Speckled mug")
    ProductFactory(shop=shop, title="Ramen bowl")
    ProductFactory(shop=shop, title="Sold out vase", stock=0)
    ProductFactory(shop=shop, title="Draft plate", status="draft")
    ProductFactory(shop=shop, title="Archived cup", status="archived")
    ProductFactory(title="Someone else's jug")

    html = page(client, mug)
    more = section(html, "more-heading")
    titles = card_titles(more)
    assert sorted(titles) == ["Ramen bowl", "Sold out vase"]
    assert "More from Atelier" in text(more) and f'href="/shops/{shop.slug}"' in more


def test_more_from_the_shop_shows_the_newest_six(client):
    shop = ShopFactory(name="Atelier")
    mug = ProductFactory(shop=shop, title="Speckled mug")
    for n in range(8):
        ProductFactory(shop=shop, title=f"Piece {n}")
    titles = card_titles(section(page(client, mug), "more-heading"))
    assert len(titles) == 6 and "Speckled mug" not in titles


def test_a_shop_with_nothing_else_shows_no_empty_row(client):
    mug = ProductFactory(title="Speckled mug")
    assert "More from" not in page(client, mug)


# --- the gallery --------------------------------------------------------------------------------


def test_the_gallery_offers_each_picture_at_its_sizes_and_works_without_javascript(client):
    mug = with_pictures(ProductFactory(title="Speckled mug"), "front", "", "on the table")
    images = mug.images

    html = page(client, mug)
    tags = Tags(html)
    shown = tags.all("img", class_="gallery-image")
    assert len(shown) == 3
    first = shown[0]
    # 1600 x 1200 is stored whole and fitted in 200, 400, 800 and 1200 px: five widths.
    sizes = {int(box): key for box, key in images[0].sizes.items()}
    assert first["srcset"] == ", ".join(
        [f"/media/{sizes[box]} {box}w" for box in (200, 400, 800, 1200)]
        + [f"/media/{images[0].image_key} 1600w"]
    )
    assert first["src"] == f"/media/{images[0].large_key}"
    assert "100vw" in first["sizes"] and (first["width"], first["height"]) == ("1200", "900")
    assert "loading" not in first and shown[1]["loading"] == "lazy"  # the first comes at once
    assert [img["alt"] for img in shown] == ["front", "Speckled mug, picture 2", "on the table"]
    # Without JavaScript: each picture links to its full-size file...
    zooms = tags.all("a", class_="gallery-zoom")
    assert [a["href"] for a in zooms] == [f"/media/{image.image_key}" for image in images]
    # ...and each thumbnail is an anchor to its picture in the row (which scrolls to it).
    slide_ids = [li["id"] for li in tags.all("li", class_="gallery-slide")]
    assert slide_ids == ["picture-1", "picture-2", "picture-3"]
    thumbs = re.findall(r'<a href="(#picture-\d)"', html)
    assert thumbs == ["#picture-1", "#picture-2", "#picture-3"]
    assert "Picture 3 of 3: on the table" in text(html)
    # With it: the zoomed view, a dialog with named buttons.
    assert tags.all("dialog", class_="gallery-dialog")
    assert 'src="/static/marketplace/gallery.js"' in html
    words = text(html)
    buttons = ("Previous picture", "Next picture", "Close", "Zoom", "Zoom in")
    assert all(name in words for name in buttons)


def test_a_small_picture_is_offered_once_at_its_own_size(client):
    mug = with_pictures(ProductFactory(title="Speckled mug"), "front", size=(300, 200))
    (image,) = mug.images
    (shown,) = Tags(page(client, mug)).all("img", class_="gallery-image")
    # Stored no larger than it is: the copies as large as it share its file, offered once.
    assert shown["srcset"].endswith(f"/media/{image.image_key} 300w")
    assert shown["srcset"].count("300w") == 1 and "400w" not in shown["srcset"]
    assert 'href="#picture-1"' not in page(client, mug)  # no thumbnails for a single picture


def test_a_product_without_pictures_has_no_gallery_script(client):
    mug = ProductFactory(title="Speckled mug")
    html = page(client, mug)
    assert "product-card-noimage" in html and "gallery.js" not in html and "<dialog" not in html


# --- what it costs ------------------------------------------------------------------------------


def queries_for(client: Any, product: Product) -> int:
    url = f"/products/{product.id}"
    client.get(url)  # warm what is kept (statements, cards, URLs)
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len([s for s in statements if s.split()[0].upper() != "BEGIN"])


def test_the_page_costs_the_same_however_much_it_shows(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_TYPE", "NullCache")  # what rendering costs
    bare = ProductFactory(title="Bare")
    shop = ShopFactory()
    busy = with_pictures(ProductFactory(shop=shop, title="Busy"), "a", "b", "c")
    for n in range(6):
        ReviewFactory(product=busy, rating=1 + n % 5)
        ProductFactory(shop=shop, title=f"Sibling {n}")
        PickFactory(product=busy)
    CollectionFactory(products=[busy])
    CollectionFactory(products=[busy])

    assert queries_for(client, bare) == queries_for(client, busy)
    # The product, its images, the picks, collections, likes, the idea it came from, and the
    # two this page adds: its reviews (with their rating) and the shop's other products.
    assert queries_for(client, busy) <= 8


# --- the demo -----------------------------------------------------------------------------------


def test_the_demo_buyers_review_what_was_delivered_to_them_once(app):
    from app.commands import Progress
    from marketplace.order_models import Review
    from marketplace.seed import seed_reviews
    from tests.factories import delivered_line

    mug = ProductFactory(title="Speckled mug")
    buyers = [UserFactory(), UserFactory()]
    for buyer in buyers:
        delivered_line(mug, buyer)
    db.session.commit()
    seed_reviews(Progress(quiet=True))
    seed_reviews(Progress(quiet=True))  # a second seeding adds nothing
    db.session.commit()
    reviews = db.session.scalars(db.select(Review).order_by(Review.id)).all()
    assert sorted(r.buyer_id for r in reviews) == sorted(b.id for b in buyers)
    assert all(1 <= r.rating <= 5 and r.created_at < utcnow() for r in reviews)
    assert reviews[0].created_at != reviews[1].created_at  # spread over the past weeks


def test_the_shop_page_writes_its_average_in_the_visitors_language_and_links_to_all_reviews(
    client,
):
    shop = ShopFactory(name="Clay Corner")
    bowl = ProductFactory(shop=shop, title="Ramen bowl")
    for n in range(4):
        ReviewFactory(product=bowl, rating=5 - n % 2, body=f"Bowl review {n}")

    english = client.get(f"/shops/{shop.slug}").get_data(as_text=True)
    assert "4.5 out of 5" in text(english)
    assert f'href="/shops/{shop.slug}/reviews"' in english
    assert "See all 4 reviews" in text(english)
    french = client.get(f"/shops/{shop.slug}", headers={"Accept-Language": "fr-FR"}).get_data(
        as_text=True
    )
    assert "4,5 sur 5" in text(french) and "4.5" not in text(french)
