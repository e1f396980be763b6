"""Attribution: which curator a sale came through.

The chain, end to end:

1. A visit to /s/<code> (or a pick's or collection's product link inside the site, which
   goes through its author's share link) records a click and sets the signed cookie
   (`social.sharing`).
2. `cart_line_added`: when the product put in the cart is one that a clicked link covers
   (a pick of it, a collection holding it, or the product itself) and the click is within
   ATTRIBUTION_WINDOW_DAYS (default 7), the line gets a `CartAttribution`; the newest click
   wins, and a later qualifying click replaces an older one.
3. `cart_line_merged`: at log-in a guest line folded into the account's line hands over its
   attribution when it is the newer.
4. `checkout_started`: each checkout line copies its cart line's attribution into a
   `CheckoutAttribution`, checked again now that the buyer is known: never for the curator
   themself, nor when the curator owns the shop.
5. `checkout_paid`: each attributed order counts once on its share link (orders, sales), the
   curator is told, and payouts asks `credits_for_checkout_lines` whom to pay the shop's
   curator commission.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from marketplace import signals
from marketplace.models import Product, Shop
from social import notifications, share_links, sharing
from social.models import (
    CartAttribution,
    CheckoutAttribution,
    CollectionItem,
    EventKind,
    FeedEvent,
    NotificationKind,
    ShareLink,
    Target,
)
from social.rules import is_suspended


@dataclass(frozen=True)
class Credit:
    """Who a checkout line's curator commission goes to."""

    curator_id: int
    share_link_id: int | None


def credits_for_checkout_lines(checkout_line_ids: list[int] | Any) -> dict[int, Credit]:
    """For payouts: the attributed lines among these, by checkout line id (others absent)."""
    ids = list(checkout_line_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(CheckoutAttribution).where(CheckoutAttribution.checkout_line_id.in_(ids))
    )
    return {row.checkout_line_id: Credit(row.curator_id, row.share_link_id) for row in rows}


def credits_for_cart_lines(cart_line_ids: list[int] | Any) -> dict[int, Credit]:
    """For payouts: the attributed lines among these cart lines (the summary before paying,
    and the terms fixed when a checkout starts, whatever order the signal's receivers run)."""
    ids = [i for i in cart_line_ids if i]
    if not ids:
        return {}
    rows = db.session.scalars(select(CartAttribution).where(CartAttribution.cart_line_id.in_(ids)))
    return {row.cart_line_id: Credit(row.curator_id, row.share_link_id) for row in rows}


# --- which click covers a product ------------------------------------------------------------


def _covering_link(
    product_id: int, clicks: list[tuple[int, datetime]], excluded: set[int]
) -> tuple[ShareLink, datetime] | None:
    """The newest click whose link leads to this product, from a curator who may earn."""
    if not clicks:
        return None
    links = {
        link.id: link
        for link in db.session.scalars(
            select(ShareLink).where(ShareLink.id.in_([link_id for link_id, _at in clicks]))
        )
    }
    collection_ids = [
        link.target_id for link in links.values() if link.target_type == Target.COLLECTION
    ]
    holding = (
        set(
            db.session.scalars(
                select(CollectionItem.collection_id).where(
                    CollectionItem.collection_id.in_(collection_ids),
                    CollectionItem.product_id == product_id,
                )
            )
        )
        if collection_ids
        else set()
    )
    for link_id, clicked_at in clicks:  # newest first: the last click wins
        link = links.get(link_id)
        if link is None or link.sharer_id in excluded:
            continue
        covers = (
            link.target_id in holding
            if link.target_type == Target.COLLECTION
            else link.product_id == product_id
        )
        if covers and not is_suspended(link.sharer_id):
            return link, clicked_at
    return None


def _shop_owner(product_id: int) -> int | None:
    # The cart has just loaded the product and its shop: no query when they are in the session.
    product = db.session.get(Product, product_id, options=[joinedload(Product.shop)])
    return product.shop.owner_id if product is not None else None


def _bump(link_id: int | None, **amounts: int) -> None:
    if link_id is None:
        return
    db.session.execute(
        update(ShareLink)
        .where(ShareLink.id == link_id)
        .values({name: getattr(ShareLink, name) + amount for name, amount in amounts.items()})
        .execution_options(synchronize_session=False)
    )


# --- the receivers ---------------------------------------------------------------------------


def on_cart_line_added(sender: Flask, line: Any, user: User | None = None, **_extra: Any) -> None:
    excluded = {owner for owner in [_shop_owner(line.product_id)] if owner is not None}
    if user is not None:
        excluded.add(user.id)
    found = _covering_link(line.product_id, sharing.recent_clicks(user), excluded)
    if found is None:
        return
    link, clicked_at = found
    current = db.session.get(CartAttribution, line.id)
    if current is not None:
        if current.share_link_id == link.id and current.clicked_at >= clicked_at:
            return  # the same click as before: nothing new to count
        if current.clicked_at > clicked_at:
            return
        current.curator_id = link.sharer_id
        current.share_link_id = link.id
        current.product_id = line.product_id
        current.clicked_at = clicked_at
        current.created_at = utcnow()
    else:
        db.session.add(
            CartAttribution(
                cart_line_id=line.id,
                curator_id=link.sharer_id,
                share_link_id=link.id,
                product_id=line.product_id,
                clicked_at=clicked_at,
            )
        )
    _bump(link.id, add_to_carts=1)
    db.session.flush()


def on_cart_line_merged(
    sender: Flask, source_line_id: int, target_line_id: int, **_extra: Any
) -> None:
    source = db.session.get(CartAttribution, source_line_id)
    if source is None:
        return
    target = db.session.get(CartAttribution, target_line_id)
    if target is None:
        db.session.add(
            CartAttribution(
                cart_line_id=target_line_id,
                curator_id=source.curator_id,
                share_link_id=source.share_link_id,
                product_id=source.product_id,
                clicked_at=source.clicked_at,
            )
        )
    elif source.clicked_at > target.clicked_at:
        target.curator_id = source.curator_id
        target.share_link_id = source.share_link_id
        target.clicked_at = source.clicked_at
    db.session.delete(source)
    db.session.flush()


def on_checkout_started(sender: Flask, checkout: Any, **_extra: Any) -> None:
    lines = list(checkout.lines)
    by_cart_line = {line.cart_line_id: line for line in lines if line.cart_line_id is not None}
    if not by_cart_line:
        return
    attributions = db.session.scalars(
        select(CartAttribution).where(CartAttribution.cart_line_id.in_(list(by_cart_line)))
    ).all()
    if not attributions:
        return
    owners = dict(
        db.session.execute(
            select(Shop.id, Shop.owner_id).where(Shop.id.in_({line.shop_id for line in lines}))
        ).all()
    )
    existing = set(
        db.session.scalars(
            select(CheckoutAttribution.checkout_line_id).where(
                CheckoutAttribution.checkout_line_id.in_([line.id for line in lines])
            )
        )
    )
    buyer_id = getattr(checkout, "buyer_id", None)
    for attribution in attributions:
        line = by_cart_line[attribution.cart_line_id]
        if line.id in existing or attribution.product_id != line.product_id:
            continue
        if attribution.curator_id in (buyer_id, owners.get(line.shop_id)):
            continue  # no commission on one's own purchase, nor on one's own shop
        db.session.add(
            CheckoutAttribution(
                checkout_line_id=line.id,
                checkout_id=checkout.id,
                curator_id=attribution.curator_id,
                share_link_id=attribution.share_link_id,
                product_id=line.product_id,
                shop_id=line.shop_id,
                gross_minor=line.gross_minor,
            )
        )
    db.session.flush()


def on_checkout_paid(sender: Flask, checkout: Any, orders: Any, **_extra: Any) -> None:
    order_of_line: dict[int, Any] = {}
    for order in orders:
        for line in order.lines:
            order_of_line[line.checkout_line_id] = order
    if order_of_line:
        _count_orders(order_of_line)
    _share_purchase(checkout, orders)


def _count_orders(order_of_line: dict[int, Any]) -> None:
    rows = db.session.scalars(
        select(CheckoutAttribution).where(
            CheckoutAttribution.checkout_line_id.in_(list(order_of_line)),
            CheckoutAttribution.paid_at.is_(None),
        )
    ).all()
    now = utcnow()
    per_link: dict[int | None, dict[str, Any]] = defaultdict(lambda: {"orders": set(), "sales": 0})
    for row in rows:
        row.paid_at = now
        tally = per_link[row.share_link_id]
        tally["orders"].add(order_of_line[row.checkout_line_id].id)
        tally["sales"] += row.gross_minor
    for link_id, tally in per_link.items():
        _bump(link_id, orders=len(tally["orders"]), sales_minor=tally["sales"])
    titles = dict(
        db.session.execute(
            select(Product.id, Product.title).where(Product.id.in_({r.product_id for r in rows}))
        ).all()
    )
    told: set[tuple[int, int]] = set()
    for row in rows:
        if (row.curator_id, row.product_id) in told:
            continue
        told.add((row.curator_id, row.product_id))
        notifications.notify(
            row.curator_id,
            NotificationKind.SALE,
            target_type=Target.PRODUCT,
            target_id=row.product_id,
            product_id=row.product_id,
            link=notifications.absolute_url("social.stats"),
            subject_text=titles.get(row.product_id, _("a product")),
        )
    db.session.flush()


def _share_purchase(checkout: Any, orders: Any) -> None:
    """ "Ana bought X from Y" in her followers' feeds, when she chose to share purchases."""
    buyer_id = getattr(checkout, "buyer_id", None)
    if buyer_id is None or is_suspended(buyer_id):
        return
    if not notifications.settings_for(buyer_id).share_purchases:
        return
    seen: set[int] = set()
    for order in orders:
        for line in order.lines:
            if line.product_id in seen:
                continue
            seen.add(line.product_id)
            link = share_links.link_for(buyer_id, Target.PRODUCT, line.product_id, line.product_id)
            db.session.add(
                FeedEvent(
                    actor_id=buyer_id,
                    kind=EventKind.PURCHASE,
                    product_id=line.product_id,
                    share_link_id=link.id,
                )
            )
    db.session.flush()


def connect(app: Flask) -> None:
    signals.cart_line_added.connect(on_cart_line_added, sender=app)
    signals.cart_line_merged.connect(on_cart_line_merged, sender=app)
    signals.checkout_started.connect(on_checkout_started, sender=app)
    signals.checkout_paid.connect(on_checkout_paid, sender=app)
