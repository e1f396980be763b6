"""How payouts hangs on the marketplace's signals, Stripe's webhooks and the job runner."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app import jobs
from marketplace import signals
from payouts import earnings, held_refunds, money_api, payees, payout_run, terms, webhooks


def _on_checkout_started(_app: Flask, checkout: Any, **_extra: Any) -> None:
    terms.fix_checkout_terms(checkout)


def _on_checkout_paid(_app: Flask, checkout: Any, orders: Any, **_extra: Any) -> None:
    earnings.post_sale(checkout, orders)


def _on_order_delivered(_app: Flask, order: Any, **_extra: Any) -> None:
    earnings.start_hold(order)


def _on_order_refunded(_app: Flask, order: Any, refund: Any, **_extra: Any) -> None:
    earnings.on_order_refunded(order, refund)


def _release_job() -> None:
    earnings.release_due()


def _run_job() -> None:
    payout_run.run()


def _reverse_job() -> None:
    payout_run.reverse_pending()


def _webhooks_retry_job() -> None:
    webhooks.retry_due_events()


def init_app(app: Flask) -> None:
    signals.checkout_started.connect(_on_checkout_started, app)
    signals.checkout_paid.connect(_on_checkout_paid, app)
    signals.order_delivered.connect(_on_order_delivered, app)
    signals.order_refunded.connect(_on_order_refunded, app)
    webhooks.on(app, "account.updated", payees.on_account_updated)
    webhooks.on(app, "charge.dispute.created", earnings.on_dispute_created)
    webhooks.on(app, "charge.dispute.closed", earnings.on_dispute_closed)
    webhooks.on(app, "charge.refunded", held_refunds.on_charge_refunded)
    webhooks.on(app, "transfer.reversed", earnings.on_transfer_reversed)
    webhooks.on(app, "payout.failed", earnings.on_payout_failed)
    jobs.register(app, "payouts.release", _release_job)
    jobs.register(app, "payouts.run", _run_job)
    jobs.register(app, "payouts.reverse_transfers", _reverse_job)
    jobs.register(app, "payouts.webhooks_retry", _webhooks_retry_job)
    money_api.register()
