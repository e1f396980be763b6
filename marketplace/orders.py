"""Orders after payment: who may see them, fulfilment, cancellation, refunds and reviews."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, case, func, select
from sqlalchemy.orm import joinedload

from app import batches, uow
from app.accounts.models import User
from app.database import for_update, kept_statement
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, Forbidden, NotFound, RuleViolation
from marketplace import notifications, signals, stock
from marketplace.models import Shop
from marketplace.order_models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Refund,
    RefundLine,
    RefundStatus,
    Review,
)
from marketplace.pagination import Page, paginate_select
from marketplace.payments import PaymentError, RefundIntent, provider

CARRIER_MAX = 60
TRACKING_MAX = 100
REASON_MAX = 500
REVIEW_MAX = 2000
DELIVERED_STATES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)
# Stripe keeps an idempotency key for 24 hours; an hour's margin for clocks and slow sweeps.
KEY_LIFETIME = timedelta(hours=23)


def _app():
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _event(order: Order, kind: str, actor: User | None, **details: object) -> None:
    order.events.append(
        OrderEvent(kind=kind, actor_id=actor.id if actor else None, details=details)
    )


# --- who sees what -------------------------------------------------------------------------


def _order(order_id: int, *, lock: bool = False) -> Order:
    if lock:
        return lock_order(order_id)
    order = db.session.scalar(select(Order).where(Order.id == order_id))
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


def lock_order(order_id: int) -> Order:
    """Lock the order (the aggregate of its lines and refunds) for this transaction, and
    forget what the session read before the lock: what is counted next is what is committed,
    so two refunds at once can never both spend the same remainder."""
    db.session.flush()
    db.session.expire_all()
    order = db.session.scalar(for_update(select(Order).where(Order.id == order_id)))
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


def is_seller(user: User, order: Order) -> bool:
    return order.shop.owner_id == user.id


def order_for_buyer(user: User, order_id: int, *, lock: bool = False) -> Order:
    order = _order(order_id, lock=lock)
    if order.buyer_id != user.id:
        raise Forbidden(_("This order is not yours."))
    return order


def order_for_seller(user: User, order_id: int, *, lock: bool = False) -> Order:
    order = _order(order_id, lock=lock)
    if not is_seller(user, order):
        raise Forbidden(_("This order is not for your shop."))
    return order


def order_for_either(user: User, order_id: int) -> Order:
    order = _order(order_id)
    if order.buyer_id != user.id and not is_seller(user, order):
        raise Forbidden(_("This order is not yours."))
    return order


def buyer_orders(user: User):
    return (
        select(Order)
        .where(Order.buyer_id == user.id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


def shop_orders(shop: Shop, status: str | None = None):
    query = select(Order).where(Order.shop_id == shop.id)
    if status in OrderStatus.ALL:
        query = query.where(Order.status == status)
    return query.order_by(Order.created_at.desc(), Order.id.desc())


# --- fulfilment ----------------------------------------------------------------------------


def auto_complete_days() -> int:
    return int(current_app.config.get("ORDER_AUTO_COMPLETE_DAYS", 14))


def mark_shipped(seller: User, order_id: int, carrier: str, tracking_number: str) -> Order:
    order = order_for_seller(seller, order_id, lock=True)
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors: dict[str, list[str]] = {}
    if not carrier:
        errors["carrier"] = [_("Say which carrier has the parcel.")]
    elif len(carrier) > CARRIER_MAX:
        errors["carrier"] = [_("Use at most %(max)d characters.", max=CARRIER_MAX)]
    if len(tracking_number) > TRACKING_MAX:
        errors["tracking_number"] = [_("Use at most %(max)d characters.", max=TRACKING_MAX)]
    if errors:
        raise RuleViolation(next(iter(errors.values()))[0], errors=errors)
    if order.status != OrderStatus.PAID:
        raise Conflict(_("Only a paid order that has not shipped can be marked as shipped."))
    now = utcnow()
    order.status = OrderStatus.SHIPPED
    order.carrier, order.tracking_number = carrier, tracking_number
    order.shipped_at = now
    order.auto_complete_at = now + timedelta(days=auto_complete_days())
    _event(order, "shipped", seller, carrier=carrier, tracking_number=tracking_number)
    notifications.order_shipped(order)
    return order


def _delivered(
    order: Order, actor: User | None, kind: str, status: str = OrderStatus.DELIVERED
) -> Order:
    order.status = status
    order.delivered_at = order.delivered_at or utcnow()
    if status == OrderStatus.COMPLETED:
        order.completed_at = utcnow()
    _event(order, kind, actor)
    signals.order_delivered.send(_app(), order=order)
    notifications.order_delivered(order)
    return order


def mark_delivered(seller: User, order_id: int) -> Order:
    order = order_for_seller(seller, order_id, lock=True)
    if order.status != OrderStatus.SHIPPED:
        raise Conflict(_("Only a shipped order can be marked as delivered."))
    return _delivered(order, seller, "delivered")


def confirm_delivery(buyer: User, order_id: int) -> Order:
    order = order_for_buyer(buyer, order_id, lock=True)
    if order.status in DELIVERED_STATES:
        return order  # confirming twice changes nothing
    if order.status != OrderStatus.SHIPPED:
        raise Conflict(_("You can confirm delivery once the order has shipped."))
    return _delivered(order, buyer, "confirmed")


def auto_complete_due(limit: int = 500) -> int:
    """Complete shipped orders nobody confirmed within the set number of days; one order
    that fails is recorded for the admins and the others go on."""
    due = list(
        db.session.scalars(
            select(Order.id)
            .where(Order.status == OrderStatus.SHIPPED, Order.auto_complete_at <= utcnow())
            .order_by(Order.auto_complete_at)
            .limit(limit)
        )
    )

    def complete(order_id: int) -> bool:
        order = lock_order(order_id)
        if order.status != OrderStatus.SHIPPED:
            return False  # the buyer confirmed meanwhile
        _delivered(order, None, "auto_completed", OrderStatus.COMPLETED)
        return True

    result = batches.each("orders.complete", due, complete, subject=lambda i: f"order {i}")
    return sum(result.outcomes)


# --- refunds -------------------------------------------------------------------------------


@dataclass
class RefundRequest:
    # Amount to refund per order line id (minor units), and of the shipping.
    lines: dict[int, int] = field(default_factory=dict)
    shipping_minor: int = 0
    restock: bool = False
    reason: str = ""
    # With `restock`, how many items of each line go back (a return's quantities); a line
    # not named puts back all it has not put back yet.
    restock_quantities: dict[int, int] = field(default_factory=dict)


def full_refund_request(order: Order, *, restock: bool, reason: str) -> RefundRequest:
    pending = pending_by_line(order)
    return RefundRequest(
        lines={line.id: line.refundable_minor - pending.get(line.id, 0) for line in order.lines},
        shipping_minor=order.shipping_minor
        - order.shipping_refunded_minor
        - _pending_shipping(order),
        restock=restock,
        reason=reason,
    )


def pending_by_line(order: Order) -> dict[int, int]:
    """What the order's pending refunds take from each line, by line id (minor units)."""
    pending: dict[int, int] = {}
    for refund in order.refunds:
        if refund.status == RefundStatus.PENDING:
            for line in refund.lines:
                pending[line.order_line_id] = pending.get(line.order_line_id, 0) + line.amount_minor
    return pending


def _pending_shipping(order: Order) -> int:
    return sum(r.shipping_minor for r in order.refunds if r.status == RefundStatus.PENDING)


def request_refund(seller: User | None, order: Order, request: RefundRequest) -> Refund:
    """Record a refund (pending) after checking it against what is left to refund.

    The caller commits, then calls `send_refund` (the Stripe call), then commits again.
    Pending refunds count as spent, so two refunds at once can never exceed what was paid.
    """
    reason = (request.reason or "").strip()
    if len(reason) > REASON_MAX:
        raise RuleViolation(_("Use at most %(max)d characters.", max=REASON_MAX), field="reason")
    if order.status == OrderStatus.CANCELLED and order.is_fully_refunded:
        raise Conflict(_("This order is cancelled and fully refunded."))
    lines_by_id = {line.id: line for line in order.lines}
    pending = pending_by_line(order)
    errors: dict[str, list[str]] = {}
    refund_lines: list[RefundLine] = []
    for line_id, amount in request.lines.items():
        line = lines_by_id.get(line_id)
        if line is None:
            raise NotFound(_("That line is not part of this order."))
        if amount < 0:
            errors[f"line-{line_id}"] = [_("An amount cannot be negative.")]
            continue
        left = line.refundable_minor - pending.get(line_id, 0)
        if amount > left:
            errors[f"line-{line_id}"] = [
                _(
                    "At most %(left)s can still be refunded on this line.",
                    left=_money(left, order.currency),
                )
            ]
            continue
        if amount or (request.restock and line.restocked_quantity < line.quantity):
            restock_qty = (line.quantity - line.restocked_quantity) if request.restock else 0
            if request.restock and line_id in request.restock_quantities:
                restock_qty = max(0, min(restock_qty, request.restock_quantities[line_id]))
            refund_lines.append(
                RefundLine(order_line_id=line_id, amount_minor=amount, restock_quantity=restock_qty)
            )
    shipping_left = order.shipping_minor - order.shipping_refunded_minor - _pending_shipping(order)
    if request.shipping_minor < 0 or request.shipping_minor > shipping_left:
        errors["shipping"] = [
            _(
                "At most %(left)s of the shipping can still be refunded.",
                left=_money(shipping_left, order.currency),
            )
        ]
    if errors:
        raise RuleViolation(next(iter(errors.values()))[0], errors=errors)
    total = sum(rl.amount_minor for rl in refund_lines) + request.shipping_minor
    if total <= 0:
        raise RuleViolation(_("Choose an amount to refund."), field="amount")
    if not order.stripe_payment_intent_id:
        raise Conflict(_("This order has no payment to refund."))
    refund = Refund(
        public_id="rf_" + secrets.token_urlsafe(18),
        order_id=order.id,
        amount_minor=total,
        shipping_minor=request.shipping_minor,
        reason=reason,
        restock=request.restock,
        created_by_id=seller.id if seller else None,
    )
    refund.lines = [rl for rl in refund_lines if rl.amount_minor or rl.restock_quantity]
    order.refunds.append(refund)
    db.session.flush()
    return refund


def send_refund(refund: Refund) -> Refund:
    """Ask the provider to refund (idempotent by the refund's key), then apply the result.

    The refund is committed before the call and nothing is held open across it; the result
    is applied under the order's lock, where the refund's webhook may have applied it first.
    """
    if refund.status != RefundStatus.PENDING:
        return refund
    refund_id, order = refund.id, refund.order
    if not order.stripe_payment_intent_id:
        return fail_refund(refund, _("This order has no payment to refund."))
    intent = RefundIntent(
        payment_intent_id=order.stripe_payment_intent_id,
        amount_minor=refund.amount_minor,
        refund_public_id=refund.public_id,
        order_reference=order.reference,
    )
    # The provider forgets an idempotency key after a day: past that, look before resending.
    look_first = refund.created_at <= utcnow() - KEY_LIFETIME
    uow.checkpoint()
    try:
        result = (provider().find_refund(intent) if look_first else None) or provider().refund(
            intent
        )
    except PaymentError as error:
        if error.retryable:
            raise  # stays pending: the sweep retries with the same key
        return _settle(refund_id, None, error.message)
    failure = None if result.succeeded else (result.failure_message or _("The refund was refused."))
    return _settle(refund_id, result.provider_refund_id, failure)


def _settle(refund_id: int, provider_refund_id: str | None, failure: str | None) -> Refund:
    order_id = db.session.scalar(select(Refund.order_id).where(Refund.id == refund_id))
    assert order_id is not None
    lock_order(order_id)
    refund = db.session.get(Refund, refund_id)
    assert refund is not None
    if provider_refund_id and refund.stripe_refund_id is None:
        refund.stripe_refund_id = provider_refund_id
    if refund.status != RefundStatus.PENDING:
        return refund  # its webhook was applied while the call was in flight
    if failure is not None:
        return fail_refund(refund, failure)
    return apply_refund(refund)


def settle_refund(refund_id: int, provider_refund_id: str) -> Refund:
    """The provider says it made our refund (its webhook): apply it once, under the lock."""
    return _settle(refund_id, provider_refund_id, None)


def deliver_refund(refund: Refund) -> bool:
    """Send the recorded refund; False when the provider did not answer (it stays pending
    and the sweep retries it with the same key)."""
    try:
        send_refund(refund)
    except PaymentError:
        return False
    return True


def pending_refunds(older_than: timedelta = timedelta(minutes=2), limit: int = 100) -> list[int]:
    """Refunds recorded but not confirmed (Stripe did not answer): retried by the sweep."""
    return list(
        db.session.scalars(
            select(Refund.id)
            .where(
                Refund.status == RefundStatus.PENDING, Refund.created_at <= utcnow() - older_than
            )
            .order_by(Refund.id)
            .limit(limit)
        )
    )


def fail_refund(refund: Refund, message: str) -> Refund:
    refund.status = RefundStatus.FAILED
    refund.failure_message = message
    refund.completed_at = utcnow()
    _event(refund.order, "refund_failed", None, amount=refund.amount_minor, message=message)
    return refund


def apply_refund(refund: Refund) -> Refund:
    """The provider confirmed the refund: move the totals, restock, tell everyone. Once,
    under the order's lock (the request's answer and the webhook may both bring it)."""
    refund_id = refund.id
    order = lock_order(refund.order_id)
    refund = db.session.get(Refund, refund_id)  # type: ignore[assignment]
    assert refund is not None
    if refund.status == RefundStatus.SUCCEEDED:
        return refund
    refund.status = RefundStatus.SUCCEEDED
    refund.completed_at = utcnow()
    for refund_line in refund.lines:
        line = refund_line.order_line
        line.refunded_minor += refund_line.amount_minor
        if refund_line.restock_quantity and line.variant_id is not None:
            stock.return_stock(line.variant_id, refund_line.restock_quantity)
            line.restocked_quantity += refund_line.restock_quantity
    order.refunded_minor += refund.amount_minor
    order.shipping_refunded_minor += refund.shipping_minor
    _event(order, "refunded", None, amount=refund.amount_minor, reason=refund.reason)
    db.session.flush()
    signals.order_refunded.send(_app(), order=order, refund=refund)
    notifications.order_refunded(order, refund)
    return refund


def cancel(seller: User, order_id: int, reason: str) -> Refund:
    """Cancel before shipping: refund everything and put the items back in stock."""
    order = order_for_seller(seller, order_id, lock=True)
    if order.status != OrderStatus.PAID:
        raise Conflict(_("Only an order that has not shipped can be cancelled."))
    refund = request_refund(seller, order, full_refund_request(order, restock=True, reason=reason))
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    _event(order, "cancelled", seller, reason=(reason or "").strip())
    notifications.order_cancelled(order, reason)
    return refund


def _money(amount: int, currency: str) -> str:
    from app.i18n import money

    return money(amount, currency)


# --- reviews -------------------------------------------------------------------------------


def review(buyer: User, order_line_id: int, rating: int, body: str) -> Review:
    line = db.session.get(OrderLine, order_line_id)
    if line is None or line.order.buyer_id != buyer.id:
        raise NotFound(_("There is no such purchase."))
    if line.order.status not in DELIVERED_STATES:
        raise Conflict(_("You can review a purchase once it has been delivered."))
    if line.order.shop.owner_id == buyer.id:
        raise RuleViolation(_("You cannot review your own shop."), field="rating", status=409)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RuleViolation(_("Give between 1 and 5 stars."), field="rating")
    body = (body or "").strip()
    if len(body) > REVIEW_MAX:
        raise RuleViolation(_("Use at most %(max)d characters.", max=REVIEW_MAX), field="body")
    existing = db.session.scalar(select(Review).where(Review.order_line_id == line.id))
    if existing is not None:
        existing.rating, existing.body, existing.updated_at = rating, body, utcnow()
        return existing
    created = Review(
        order_line_id=line.id,
        product_id=line.product_id,
        shop_id=line.order.shop_id,
        buyer_id=buyer.id,
        rating=rating,
        body=body,
    )
    db.session.add(created)
    db.session.flush()
    return created


@dataclass(frozen=True)
class Rating:
    average: float
    count: int


def shop_rating(shop_id: int) -> Rating:
    average, count = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(Review.shop_id == shop_id)
    ).one()
    return Rating(round(float(average or 0), 1), int(count or 0))


def shop_reviews(shop_id: int, limit: int = 5) -> tuple[Rating, list[Review]]:
    """The shop's rating and its newest reviews in one query: each row carries the shop's
    average and count (window functions run before the limit, so they cover every review)."""
    rows = db.session.execute(
        select(Review, func.avg(Review.rating).over(), func.count(Review.id).over())
        .where(Review.shop_id == shop_id)
        .options(joinedload(Review.buyer), joinedload(Review.product))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return Rating(0.0, 0), []
    _first, average, count = rows[0]
    return Rating(round(float(average or 0), 1), int(count or 0)), [row[0] for row in rows]


def product_rating(product_id: int) -> Rating:
    average, count = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(
            Review.product_id == product_id
        )
    ).one()
    return Rating(round(float(average or 0), 1), int(count or 0))


@dataclass(frozen=True)
class ProductReviews:
    """What a product page says of reviews: the product's own, or, while it has none, its
    shop's (`of_shop`), with the rating of what is shown and the newest few."""

    rating: Rating
    reviews: list[Review]
    of_shop: bool
    shop_rating: Rating

    @property
    def has_more(self) -> bool:
        return self.rating.count > len(self.reviews)


def product_reviews(product_id: int, shop_id: int, limit: int = 3) -> ProductReviews:
    """The product's reviews and rating, or its shop's when it has none, in one query: the
    shop's reviews with the product's first, each row carrying both averages and counts
    (window functions run before the limit, so they cover every review of the shop)."""
    # On every product page: built once (app.database.kept_statement).
    statement = kept_statement("marketplace.product_reviews", _product_reviews_statement)
    rows = db.session.execute(
        statement, {"product_id": product_id, "shop_id": shop_id, "limit": limit}
    ).all()
    if not rows:
        empty = Rating(0.0, 0)
        return ProductReviews(empty, [], of_shop=False, shop_rating=empty)
    _first, own_average, own_count, shop_average, shop_count = rows[0]
    shop = Rating(round(float(shop_average or 0), 1), int(shop_count or 0))
    if own_count:
        own = Rating(round(float(own_average or 0), 1), int(own_count))
        reviews = [row[0] for row in rows if row[0].product_id == product_id]
        return ProductReviews(own, reviews, of_shop=False, shop_rating=shop)
    return ProductReviews(shop, [row[0] for row in rows], of_shop=True, shop_rating=shop)


def _product_reviews_statement() -> Any:
    own = Review.product_id == bindparam("product_id")
    return (
        select(
            Review,
            func.avg(case((own, Review.rating))).over(),
            func.count(case((own, Review.id))).over(),
            func.avg(Review.rating).over(),
            func.count(Review.id).over(),
        )
        .where(Review.shop_id == bindparam("shop_id"))
        .options(joinedload(Review.buyer), joinedload(Review.product))
        .order_by(case((own, 0), else_=1), Review.created_at.desc(), Review.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def reviews_of_product(product_id: int, page: int = 1, per_page: int = 20) -> Page[Review]:
    return paginate_select(
        select(Review)
        .where(Review.product_id == product_id)
        .options(joinedload(Review.buyer))
        .order_by(Review.created_at.desc(), Review.id.desc()),
        page,
        per_page,
    )


def reviews_of_shop(shop_id: int, page: int = 1, per_page: int = 20) -> Page[Review]:
    return paginate_select(
        select(Review)
        .where(Review.shop_id == shop_id)
        .options(joinedload(Review.buyer), joinedload(Review.product))
        .order_by(Review.created_at.desc(), Review.id.desc()),
        page,
        per_page,
    )
