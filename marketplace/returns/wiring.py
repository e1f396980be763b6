"""How returns hang on the app: pages, API, the order pages' section, the product page's
policy line, the sweep job, the seller's navigation."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app import hooks as app_hooks
from app import jobs
from app.hooks import NavLink
from app.uow import unit_of_work
from marketplace.hooks import add_product_section
from marketplace.returns.seed import seed_returns
from marketplace.shops import has_shop


def _policy_section(product: Any) -> Markup:
    html = render_template("returns/_product_policy.html", shop=product.shop)
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def _sweep_job() -> None:
    from marketplace.returns.sweep import settle_due_returns

    settle_due_returns()


def init_app(app: Flask) -> None:
    from marketplace.returns import api, models, views  # noqa: F401 - models: known to migrations

    app.register_blueprint(views.returns)
    app.register_blueprint(views.shop_returns)
    app.register_blueprint(views.returns_admin)
    api.register()
    app.add_template_global(views.return_section, "return_section")
    add_product_section(app, _policy_section)
    app_hooks.hooks(app).account_nav.append(
        NavLink(28, "shop_returns.list_returns", _l("Returns"), visible=has_shop)
    )
    jobs.register(app, "marketplace.settle_returns", _sweep_job)
    # After the sales (40) and co-creation (45): returns of what was delivered.
    app_hooks.add_seeder(app, 47, "returns", seed_returns)

    @app.cli.command("returns-sweep")
    def returns_sweep() -> None:
        """Let the platform decide returns whose seller did not act in time."""
        from marketplace.returns.sweep import settle_due_returns

        with unit_of_work():
            settled = settle_due_returns()
        click.echo(f"Settled {settled} return(s).")
