"""Revenue sharing and Stripe Connect: the gateway, webhooks, (later) the ledger and payouts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from payouts import (
        api,
        cocreation,
        commands,
        payments,
        preview,
        runtime,
        views,
        webhooks,
        wiring,
    )
    from social.hooks import add_idea_manage_section

    runtime.init_app(app)
    webhooks.init_app(app)
    payments.init_app(app)
    preview.init_app(app)
    wiring.init_app(app)
    commands.init_app(app)
    cocreation.init_app(app)
    add_idea_manage_section(app, views.idea_money_section)
    api.register()

    from flask_babel import lazy_gettext as _l
    from flask_login import current_user

    from app.hooks import NavLink, add_seeder, hooks
    from payouts.seed import seed_cocreation, seed_sales

    app.register_blueprint(views.blueprint)
    app.register_blueprint(views.admin)
    registry = hooks(app)
    registry.account_nav.extend(
        [
            NavLink(40, "payouts.earnings", _l("Earnings")),
            NavLink(45, "payouts.setup", _l("Payouts")),
            NavLink(
                95,
                "payouts_admin.overview",
                _l("Admin: payouts"),
                visible=lambda: bool(current_user.is_authenticated and current_user.is_admin),
            ),
        ]
    )
    add_seeder(app, 40, "sales", seed_sales)
    add_seeder(app, 45, "co-creation: calls, ideas, votes, rewards, the pool", seed_cocreation)
