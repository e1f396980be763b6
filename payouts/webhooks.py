"""Stripe webhooks: verified, stored by event id, processed once, retried on failure.

`POST /webhooks/stripe` checks the signature on the raw body, stores the event (a replay of an
id we already have is acknowledged and not processed again), and answers 2xx at once; the
processing runs as a job after the commit. Handlers registered with `on(type)` run in one
unit of work: if any raises, nothing they did is kept, the error is recorded on the event and
a later sweep (`flask payouts webhooks-retry`, and the scheduler) tries again with back-off.
Handlers must be idempotent and safe in any order: Stripe does not promise either.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import jobs
from app.database import for_update
from app.errors import problem
from app.extensions import db
from app.models import utcnow
from app.security import csrf_exempt
from payouts.gateway import InvalidWebhook
from payouts.models import StripeEvent

EventHandler = Callable[[dict[str, Any]], None]
# Minutes to wait before each retry of a failed event.
RETRY_BACKOFF_MINUTES = (1, 5, 30, 120, 720, 1440)
MAX_ATTEMPTS = len(RETRY_BACKOFF_MINUTES) + 1

blueprint = Blueprint("stripe_webhooks", __name__)


def _handlers(app: Flask | None = None) -> dict[str, list[EventHandler]]:
    app = app or current_app
    return app.extensions.setdefault("kindred_stripe_handlers", {})


def on(app: Flask, event_type: str, handler: EventHandler) -> None:
    """Register a handler for a Stripe event type. It receives the event's payload (a dict)."""
    _handlers(app).setdefault(event_type, []).append(handler)


def handled_types(app: Flask | None = None) -> list[str]:
    return sorted(_handlers(app))


@blueprint.post("/webhooks/stripe")
@csrf_exempt
def receive() -> Any:
    from payouts.runtime import gateway

    payload = request.get_data(cache=False)
    try:
        event = gateway().construct_event(payload, request.headers.get("Stripe-Signature", ""))
    except InvalidWebhook as error:
        return problem(400, "Invalid webhook", str(error))
    stored = store_event(event.to_dict())
    if stored:
        jobs.enqueue("payouts.process_stripe_event", event_id=stored.id)
    return {"received": True, "duplicate": stored is None}


def store_event(data: dict[str, Any]) -> StripeEvent | None:
    """Keep the event; None when we already have it (a replay or a retried delivery)."""
    if db.session.get(StripeEvent, data["id"]) is not None:
        return None
    event = StripeEvent(
        id=data["id"],
        type=data["type"],
        account=data.get("account"),
        payload=data,
        stripe_created=int(data.get("created") or 0),
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        # Two deliveries of the same event raced: the other one stored it.
        return None
    return event


def process_event(event_id: str) -> None:
    """Run the handlers of one stored event, once. Called as a job, inside a unit of work."""
    # Two workers handed the same event wait for each other instead of both running it.
    event = db.session.scalar(for_update(select(StripeEvent).where(StripeEvent.id == event_id)))
    if event is None or event.processed_at is not None:
        return
    handlers = _handlers().get(event.type, [])
    try:
        with db.session.begin_nested():
            for handler in handlers:
                handler(event.payload)
    except Exception as error:
        current_app.logger.exception("Stripe event %s (%s) failed", event.id, event.type)
        event.attempts += 1
        event.last_error = f"{error.__class__.__name__}: {error}"[:2000]
        if event.attempts < MAX_ATTEMPTS:
            delay = RETRY_BACKOFF_MINUTES[min(event.attempts, len(RETRY_BACKOFF_MINUTES)) - 1]
            event.next_attempt_at = utcnow() + timedelta(minutes=delay)
        else:
            event.next_attempt_at = None  # given up: shown to admins with its error
        return
    event.attempts += 1
    event.processed_at = utcnow()
    event.next_attempt_at = None
    event.last_error = None


def retry_due_events(limit: int = 100) -> int:
    """Process failed events whose retry is due; returns how many were tried."""
    due = db.session.scalars(
        select(StripeEvent.id)
        .where(StripeEvent.processed_at.is_(None), StripeEvent.next_attempt_at <= utcnow())
        .order_by(StripeEvent.next_attempt_at)
        .limit(limit)
    ).all()
    for event_id in due:
        jobs.run("payouts.process_stripe_event", event_id=event_id)
    return len(due)


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    jobs.register(app, "payouts.process_stripe_event", process_event)
