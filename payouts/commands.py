"""`flask payouts …`: release, run, reconcile, webhooks-retry. Each shows its progress."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from app.i18n import money
from app.uow import unit_of_work

payouts_cli = AppGroup("payouts", help="Revenue sharing, payouts and Stripe.")


@payouts_cli.command("release")
def release() -> None:
    """Make earnings whose hold period has passed available."""
    from payouts.earnings import release_due

    total = 0
    while True:
        with unit_of_work():
            released = release_due(limit=1000)
        total += released
        if released:
            click.echo(f"  released {total} earning(s)…")
        if released < 1000:
            break
    click.echo(f"Released {total} earning(s).")


@payouts_cli.command("run")
def run() -> None:
    """Pay available earnings to onboarded payees: one transfer per payee per charge."""
    from payouts import payout_run

    with unit_of_work():
        result = payout_run.run(progress=lambda message: click.echo(f"  {message}"))
    with unit_of_work():
        reversed_count = payout_run.reverse_pending()
    click.echo(
        f"Payout run {result.run_id}: {result.paid} paid ({money(result.amount_paid_minor)}), "
        f"{result.failed} failed, {result.pending} to retry, {result.held_back} held back "
        f"(a dispute or a held refund); {reversed_count} reversal(s) made."
    )
    if result.errors:
        click.echo(
            f"{result.errors} item(s) raised an error and were left for the next run; "
            "see the payouts administration page.",
            err=True,
        )


@payouts_cli.command("reconcile")
def reconcile() -> None:
    """Compare the ledger with Stripe; exits non-zero on any difference."""
    from payouts import reconcile as reconciliation

    with unit_of_work(write=False):
        report = reconciliation.run()
    click.echo(f"Ledger Stripe balance: {money(report.ledger_stripe_balance)}")
    if report.stripe_balance is not None:
        click.echo(f"Stripe balance:        {money(report.stripe_balance)}")
    click.echo(f"Transfers checked:     {report.transfers_checked}")
    for difference in report.differences:
        click.echo(f"  DIFFERENCE: {difference}", err=True)
    if not report.ok:
        sys.exit(1)
    click.echo("The ledger and Stripe agree.")


@payouts_cli.command("webhooks-retry")
def webhooks_retry() -> None:
    """Process Stripe events whose handling failed and whose retry is due."""
    from payouts.webhooks import retry_due_events

    tried = retry_due_events()
    click.echo(f"Retried {tried} Stripe event(s).")


def init_app(app: Flask) -> None:
    app.cli.add_command(payouts_cli)
