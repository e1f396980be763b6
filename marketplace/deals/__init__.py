"""A shop's deals: a bundle discount and coupons.

A shop-level discount is shared over that shop's lines in a checkout, in proportion to
their price, to the cent (`pricing`); each line then carries the discount it got and its
gross is what the buyer really pays for it, which is what the split, the ledger and refunds
work on. `coupons` keeps a coupon's uses exact when two buyers claim its last use at once.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from app import hooks as app_hooks
    from app.hooks import NavLink
    from app.i18n import format_percent
    from marketplace import shops
    from marketplace.deals import api, views
    from marketplace.deals.seed import seed_deals

    app.jinja_env.filters["percent"] = format_percent
    app.register_blueprint(views.deals)
    api.register()
    app_hooks.hooks(app).account_nav.append(
        NavLink(27, "deals.seller_page", _l("Discounts"), visible=shops.has_shop)
    )
    app_hooks.add_seeder(app, 47, "shop deals", seed_deals)
