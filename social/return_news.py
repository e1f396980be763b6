"""A return's steps in the notifications of the side that did not act (the marketplace
e-mails them itself, so these notifications send no e-mail of their own)."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for

from marketplace import signals
from social.models import NotificationKind
from social.notifications import notify

# Which order page the notification opens: the buyer's, or the seller's.
BUYER_TARGET = "order"
SELLER_TARGET = "sold_order"


def _on_return_updated(
    _app: Flask, return_request: Any, step: str, actor: Any, recipient_id: int, **_extra: Any
) -> None:
    as_buyer = recipient_id == return_request.buyer_id
    first = return_request.lines[0].order_line if return_request.lines else None
    notify(
        recipient_id,
        NotificationKind.RETURN,
        actor=actor,
        target_type=BUYER_TARGET if as_buyer else SELLER_TARGET,
        target_id=return_request.order_id,
        product_id=first.product_id if first else None,
    )


def link(notification: Any) -> str | None:
    if notification.kind != NotificationKind.RETURN or not notification.target_id:
        return None
    if notification.target_type == BUYER_TARGET:
        return url_for("shopping.my_order", order_id=notification.target_id) + "#returns"
    return url_for("seller_orders.show", order_id=notification.target_id) + "#returns"


def connect(app: Flask) -> None:
    signals.return_updated.connect(_on_return_updated, app)
