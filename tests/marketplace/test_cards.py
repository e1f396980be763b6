"""Product cards are kept once rendered, under everything they show (marketplace/cards.py)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import render_template_string
from flask_babel import force_locale
from markupsafe import Markup
from PIL import Image

from app.placeholders import product_png
from marketplace import cards, products
from marketplace.models import Product
from tests.factories import ProductFactory


def set_title(p: Product) -> None:
    p.title = "Renamed mug"


def set_price(p: Product) -> None:
    p.price_minor = 4321


def sell_out(p: Product) -> None:
    p.stock_total = 0


def set_cover(p: Product) -> None:
    p.cover_key = "products/other-cover.webp"


def add_options(p: Product) -> None:
    p.option1_name = "Size"


def rename_shop(p: Product) -> None:
    p.shop.name = "Another shop name"


def move_shop(p: Product) -> None:
    p.shop.slug = "moved-shop"


def set_slug(p: Product) -> None:
    p.slug = "another-slug"


def set_cover_sizes(p: Product) -> None:
    p.cover_key = "products/cover.webp"  # set before too: only the widths differ
    p.cover_sizes = {"200": "ab/smaller-cover.webp", "400": "ab/cover.webp"}


CHANGES: list[tuple[Callable[[Product], None], str]] = [
    (set_title, "Renamed mug"),
    (set_price, "43.21"),
    (sell_out, "Sold out"),
    (set_cover, "other-cover"),
    (add_options, "from"),
    (rename_shop, "Another shop name"),
    (move_shop, "moved-shop"),
    (set_slug, "another-slug"),
    (set_cover_sizes, "smaller-cover"),
]


@pytest.mark.parametrize(("change", "shown"), CHANGES, ids=[c.__name__ for c, _ in CHANGES])
def test_each_field_a_card_shows_makes_another_card(app, change, shown):
    product = ProductFactory(title="Speckled mug", price_minor=1200, stock=3)
    if change is set_cover_sizes:
        product.cover_key = "products/cover.webp"
    with app.test_request_context("/"):
        before = cards.product_card(product)
        assert cards.product_card(product) is before  # kept, not drawn again
        assert shown not in before
        change(product)
        after = cards.product_card(product)
        assert shown in after and after != before


def test_badges_language_and_shop_line_are_part_of_the_card(app):
    product = ProductFactory(title="Oak board", stock=0)
    with app.test_request_context("/"):
        plain = cards.product_card(product)
        badged = cards.product_card(product, {product.id: [Markup("<b>Picked by 3</b>")]})
        assert "Picked by 3" in badged and "Picked by 3" not in plain
        assert product.shop.name not in cards.product_card(product, show_shop=False)
        with force_locale("fr"):
            french = cards.product_card(product)
        assert "Épuisé" in french or french != plain


def test_the_store_is_bounded(app, monkeypatch):
    monkeypatch.setattr(cards, "LIMIT", 3)
    products = [ProductFactory(title=f"Thing {n}") for n in range(5)]
    with app.test_request_context("/"):
        for product in products:
            cards.product_card(product)
    kept: Any = app.extensions["kindred_cards"]
    assert len(kept) == 3


def _attrs(html: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'([a-z-]+)="([^"]*)"', tag)) for tag in re.findall(r"<img [^>]*>", html)
    ]


def _picture(width: int, height: int) -> bytes:
    image = Image.open(io.BytesIO(product_png("card", "mug", (width, height))))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_card_offers_each_stored_width_and_says_how_wide_it_is_drawn(app, client):
    product = ProductFactory(title="Speckled mug")
    products.add_images(product.shop.owner, product, [products.ImageUpload(_picture(1000, 1000))])
    assert set(product.cover_sizes) == {"200", "400", "800", "1000"}  # 1200 is not enlarged
    with app.test_request_context("/"):
        (img,) = _attrs(cards.product_card(product))
    candidates = [part.strip().split(" ") for part in img["srcset"].split(",")]
    assert [width for _url, width in candidates] == ["200w", "400w", "800w", "1000w"]
    for url, width in candidates:
        served = client.get(url)
        assert served.status_code == 200
        assert Image.open(io.BytesIO(served.data)).width == int(width[:-1])
    assert img["src"] == candidates[1][0]  # the 400-pixel one, for browsers without srcset
    assert img["sizes"].endswith("46vw")  # two columns on a phone
    assert (img["width"], img["height"]) == ("400", "400")  # room kept: no layout shift
    assert img["alt"] == ""  # the title beside it names the link


def test_only_the_first_row_loads_at_once_and_the_first_picture_first(app):
    shown = [ProductFactory(title=f"Thing {n}") for n in range(6)]
    for n, product in enumerate(shown):
        product.cover_key = f"ab/{n}.webp"
    grid = (
        '{% from "marketplace/_macros.html" import product_grid %}'
        "{{ product_grid(items) }}{{ product_grid(items, lead=False) }}"
    )
    with app.test_request_context("/"):
        imgs = _attrs(render_template_string(grid, items=shown))
    lead, below = imgs[:6], imgs[6:]
    assert [img["loading"] for img in lead] == ["eager"] * 4 + ["lazy"] * 2
    assert [img.get("fetchpriority") for img in lead] == ["high"] + [None] * 5
    assert all(img["loading"] == "lazy" and "fetchpriority" not in img for img in below)


def test_a_sold_out_badge_sits_on_the_picture(app):
    product = ProductFactory(title="Oak board", stock=0)
    product.cover_key = "ab/board.webp"
    with app.test_request_context("/"):
        html = str(cards.product_card(product))
    media = html[
        html.index('class="product-card-media"') : html.index('class="product-card-title"')
    ]
    assert "product-card-soldout" in media and "Sold out" in media
