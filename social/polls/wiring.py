"""Polls at start-up: pages, API, the shop page's section, the account link, the sweep that
tells followers, and the demo's polls."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from app import jobs
from app.hooks import NavLink, add_seeder
from app.hooks import hooks as app_hooks
from marketplace.hooks import add_shop_section
from marketplace.shops import has_shop
from social.polls import api, services, views
from social.polls.seed import seed_polls

ANNOUNCE_JOB = "polls.announce"


def _announce() -> None:
    services.announce_due()


def init_app(app: Flask) -> None:
    app.register_blueprint(views.blueprint)
    api.register()
    add_shop_section(app, views.shop_section)
    app.add_template_global(views.idea_section, "open_polls_section")
    app_hooks(app).account_nav.append(NavLink(38, "polls.manage", _l("Polls"), visible=has_shop))
    jobs.register(app, ANNOUNCE_JOB, _announce)
    add_seeder(app, 50, "polls", seed_polls)
