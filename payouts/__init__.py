"""Revenue sharing and Stripe Connect: the gateway, webhooks, (later) the ledger and payouts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from payouts import commands, payments, preview, runtime, webhooks

    runtime.init_app(app)
    webhooks.init_app(app)
    payments.init_app(app)
    preview.init_app(app)
    commands.init_app(app)

    from app.hooks import add_seeder
    from payouts.seed import seed_sales

    add_seeder(app, 40, "sales", seed_sales)
