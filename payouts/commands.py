"""`flask payouts …` commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

payouts_cli = AppGroup("payouts", help="Revenue sharing, payouts and Stripe.")


@payouts_cli.command("webhooks-retry")
def webhooks_retry() -> None:
    """Process Stripe events whose handling failed and whose retry is due."""
    from payouts.webhooks import retry_due_events

    tried = retry_due_events()
    click.echo(f"Retried {tried} Stripe event(s).")


def init_app(app: Flask) -> None:
    app.cli.add_command(payouts_cli)
