"""The marketplace: shops, products, variants, stock, images and search (the catalogue).

`init_app` wires it into the app: pages, the JSON API, navigation, a profile section, the
storefront as the home page, and the demo seeder. Later features extend the catalogue through
`marketplace.hooks` (product page sections, delete guards, card badges).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from app import hooks as app_hooks
from app.hooks import NavLink


def rating_number(value: float) -> str:
    """An average rating as the visitor's language writes it: 4.5, or 4,5 in French."""
    return str(format_decimal(value, format="0.0"))


def init_app(app: Flask) -> None:
    from marketplace import api, cards, commerce, deals, models, order_models, search, shops, views  # noqa: F401 - models: known to migrations
    from marketplace.hooks import catalogue_hooks
    from marketplace.seed import seed_catalogue, seed_reviews

    catalogue_hooks(app)
    cards.init_app(app)
    search.init_app(app)
    app.jinja_env.filters["rating"] = rating_number
    app.register_blueprint(views.catalogue)
    app.register_blueprint(views.seller)
    api.register()
    # The storefront (new and trending products) is the home page.
    app.view_functions["core.home"] = views.storefront

    # (Not `hooks`: importing marketplace.hooks rebinds that name in this package.)
    registry = app_hooks.hooks(app)
    registry.nav.extend(
        [
            NavLink(10, "catalogue.category_index", _l("Browse")),
            NavLink(15, "catalogue.search", _l("Search")),
        ]
    )
    registry.account_nav.extend(
        [
            NavLink(20, "seller.edit_shop", _l("My shop")),
            NavLink(25, "seller.dashboard", _l("My products"), visible=shops.has_shop),
        ]
    )
    registry.profile_sections.append(views.profile_section)
    app_hooks.add_seeder(app, 20, "shops and products", seed_catalogue)
    app_hooks.add_seeder(app, 50, "reviews", seed_reviews)  # of the sales (40, 45) delivered
    commerce.init_app(app)
    deals.init_app(app)
