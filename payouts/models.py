from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models import utcnow


class StripeEvent(Model):
    """A Stripe event as received by the webhook, kept by its id so it is processed once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    # The connected account the event is about (Connect events), if any.
    account: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON)
    stripe_created: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When a failed event is due for another try; None once processed (or before the first).
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
