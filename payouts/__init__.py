"""Revenue sharing and Stripe Connect: the gateway, webhooks, (later) the ledger and payouts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from payouts import commands, runtime, webhooks

    runtime.init_app(app)
    webhooks.init_app(app)
    commands.init_app(app)
