"""Extension points of the catalogue that later features fill at start-up.

* `product_sections`: callables `(product) -> Markup | ""` rendered on the product page, in
  order, below the details (social shows "picked by" there).
* `shop_sections`: callables `(shop) -> Markup | ""` rendered in the shop page's side column
  (co-creation shows the shop's calls for ideas there).
* `delete_guards`: callables `(product) -> bool`; when any returns true, deleting the product
  archives it instead (orders register one: a product that was ordered keeps its row, so order
  history and its snapshots stay whole).
* `card_badges`: callables `(products) -> dict[product_id, Markup]` computed for a whole page of
  product cards at once (one query per page, never one per card).
* `commission_guards`: callables `(shop, commission_bps)` raising `RuleViolation` when the shop
  may not raise its curator commission to that rate (co-creation: the royalties and the pool it
  promised must still leave the seller the platform's minimum).

Popularity is a plain column that later features bump with `products.bump_popularity`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from marketplace.models import Product, Shop


@dataclass
class CatalogueHooks:
    product_sections: list[Callable[[Product], Any]] = field(default_factory=list)
    shop_sections: list[Callable[[Shop], Any]] = field(default_factory=list)
    delete_guards: list[Callable[[Product], bool]] = field(default_factory=list)
    card_badges: list[Callable[[Sequence[Product]], dict[int, Any]]] = field(default_factory=list)
    commission_guards: list[Callable[[Shop, int], None]] = field(default_factory=list)


def catalogue_hooks(app: Flask | None = None) -> CatalogueHooks:
    app = app or current_app
    return app.extensions.setdefault("kindred_catalogue_hooks", CatalogueHooks())


def add_product_section(app: Flask, renderer: Callable[[Product], Any]) -> None:
    catalogue_hooks(app).product_sections.append(renderer)


def add_shop_section(app: Flask, renderer: Callable[[Shop], Any]) -> None:
    catalogue_hooks(app).shop_sections.append(renderer)


def add_delete_guard(app: Flask, guard: Callable[[Product], bool]) -> None:
    catalogue_hooks(app).delete_guards.append(guard)


def add_card_badges(app: Flask, badges: Callable[[Sequence[Product]], dict[int, Any]]) -> None:
    catalogue_hooks(app).card_badges.append(badges)


def add_commission_guard(app: Flask, guard: Callable[[Shop, int], None]) -> None:
    catalogue_hooks(app).commission_guards.append(guard)
