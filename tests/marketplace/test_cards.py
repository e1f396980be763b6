"""Product cards are kept once rendered, under everything they show (marketplace/cards.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask_babel import force_locale
from markupsafe import Markup

from marketplace import cards
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


CHANGES: list[tuple[Callable[[Product], None], str]] = [
    (set_title, "Renamed mug"),
    (set_price, "43.21"),
    (sell_out, "Sold out"),
    (set_cover, "other-cover"),
    (add_options, "from"),
    (rename_shop, "Another shop name"),
    (move_shop, "moved-shop"),
    (set_slug, "another-slug"),
]


@pytest.mark.parametrize(("change", "shown"), CHANGES, ids=[c.__name__ for c, _ in CHANGES])
def test_each_field_a_card_shows_makes_another_card(app, change, shown):
    product = ProductFactory(title="Speckled mug", price_minor=1200, stock=3)
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
