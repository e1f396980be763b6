"""Product cards, rendered once per content and reused.

A listing page draws 12 to 24 cards and each costs two URLs, a picture URL, a formatted price
and a translation or two. The card is the same text whenever what it shows is the same, so it
is kept under exactly that: the product's fields the card reads, its shop's, its badges, the
language, the currency and the mount point. Nothing needs invalidating: a changed product
makes another key, and the old entry ages out of a bounded store (one per app and process).
Pages for signed-in people get the same saving, since a card holds nothing of the viewer.

The key lists what `product_card` in marketplace/_macros.html reads: a field added there
must be added here (tests/marketplace/test_cards.py checks that each one changes the card).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, current_app, get_template_attribute, request
from flask_babel import get_locale
from markupsafe import Markup

from marketplace.models import Product

LIMIT = 4096
_lock = threading.Lock()


def card_key(
    product: Product, badges: Any, show_shop: bool, priority: str = "lazy"
) -> tuple[Any, ...]:
    shop = product.shop if show_shop else None
    own = tuple(str(badge) for badge in (badges or {}).get(product.id, ()))
    return (
        str(get_locale()),
        current_app.config["CURRENCY"],
        request.script_root,
        product.id,
        product.slug,
        product.title,
        product.cover_key,
        tuple(sorted((product.cover_sizes or {}).items())),
        product.option1_name,
        product.option2_name,
        product.price_minor,
        product.stock_total,
        shop.slug if shop else None,
        shop.name if shop else None,
        own,
        priority,
    )


def product_card(
    product: Product, badges: Any = None, show_shop: bool = True, priority: str = "lazy"
) -> Markup:
    """The card's HTML; `priority` says how its picture loads ("lazy", "eager", "high")."""
    kept: OrderedDict[tuple[Any, ...], Markup] = current_app.extensions["kindred_cards"]
    key = card_key(product, badges, show_shop, priority)
    with _lock:
        found = kept.get(key)
    if found is not None:
        return found
    macro = get_template_attribute("marketplace/_macros.html", "product_card")
    html = Markup(macro(product, badges, show_shop, priority))  # noqa: S704 - an autoescaping macro
    with _lock:
        kept[key] = html
        while len(kept) > LIMIT:
            kept.popitem(last=False)
    return html


def init_app(app: Flask) -> None:
    app.extensions["kindred_cards"] = OrderedDict()
    app.jinja_env.globals["kept_product_card"] = product_card
