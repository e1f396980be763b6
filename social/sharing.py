"""Share links (/s/<code>): who shared what, the clicks they bring, and the attribution
cookie those clicks set.

A visit records a click on the server (one per visitor, link and day) and adds the link to
a signed cookie with the time of the click. When the visitor later puts a product in their
cart, `social.attribution` looks at those clicks (and, for a logged-in visitor, at the
clicks recorded under their account) to find the curator the sale came through.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import NotFound
from marketplace.models import Product
from social import posts
from social.models import Collection, Pick, ShareClick, ShareLink, Target
from social.rules import is_moderator, not_suspended
from social.share_links import link_for

COOKIE = "kindred_ref"
SALT = "kindred-attribution"
COOKIE_CLICKS = 20  # the most recent links a browser remembers


def attribution_window() -> timedelta:
    return timedelta(days=int(current_app.config.get("ATTRIBUTION_WINDOW_DAYS", 7)))


def share(sharer: User, target_type: str, target_id: int) -> ShareLink:
    """Anyone logged in may share what they can see: their own link records them."""
    if target_type == Target.PICK:
        pick = posts.visible_pick(target_id, sharer)
        return link_for(sharer, Target.PICK, pick.id, pick.product_id)
    if target_type == Target.COLLECTION:
        collection = posts.visible_collection(target_id, sharer)
        if not collection.is_public:
            raise NotFound(_("There is no such collection."))
        return link_for(sharer, Target.COLLECTION, collection.id, None)
    if target_type == Target.PRODUCT:
        product = db.session.get(Product, target_id)
        if product is None or not product.listed:
            raise NotFound(_("That product is not available."))
        return link_for(sharer, Target.PRODUCT, product.id, product.id)
    raise NotFound(_("That cannot be shared."))


def by_code(code: str) -> ShareLink:
    link = db.session.scalar(
        select(ShareLink).where(ShareLink.code == code, not_suspended(ShareLink.sharer_id))
    )
    if link is None:
        raise NotFound(_("That link is not valid."))
    return link


@dataclass
class Destination:
    endpoint: str
    values: dict[str, Any]
    product_id: int | None  # the product the visit is about, when one


def destination(link: ShareLink, viewer: User | None, product_id: int | None = None) -> Destination:
    """Where a share link leads. A collection link with `p` leads to that product of the
    collection (the collection page's product links go through the owner's link that way),
    and a pick link with `p` to the pick's product (the pick's own product link)."""
    if link.target_type == Target.PICK:
        pick = posts.visible_pick(link.target_id, viewer)
        if product_id is not None and product_id == pick.product_id and pick.product.listed:
            # The pick's own product link (`p`): straight to the product, not back to the pick.
            return Destination("catalogue.product", {"product_id": product_id}, product_id)
        return Destination("social.pick", {"pick_id": pick.id}, pick.product_id)
    if link.target_type == Target.COLLECTION:
        collection = posts.visible_collection(link.target_id, viewer)
        if product_id is not None and posts.collection_has(collection.id, product_id):
            return Destination("catalogue.product", {"product_id": product_id}, product_id)
        return Destination("social.collection", {"collection_id": collection.id}, None)
    product = db.session.get(Product, link.target_id)
    if product is None or not product.listed:
        raise NotFound(_("That product is not available."))
    return Destination(
        "catalogue.product", {"product_id": product.id, "slug": product.slug}, product.id
    )


# --- the cookie and the clicks -----------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def read_cookie() -> dict[str, Any]:
    """{"v": visitor id, "c": [[link id, click time as epoch seconds], ...] oldest first}."""
    if not has_request_context():
        return {}
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    clicks = [
        [int(c[0]), float(c[1])]
        for c in data.get("c", [])
        if isinstance(c, list) and len(c) == 2 and all(isinstance(x, int | float) for x in c)
    ]
    visitor = data.get("v")
    return {"v": visitor if isinstance(visitor, str) else None, "c": clicks}


def set_cookie(response: Any, data: dict[str, Any]) -> None:
    response.set_cookie(
        COOKIE,
        _serializer().dumps(data),
        max_age=int(attribution_window().total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def record_visit(link: ShareLink, viewer: User | None) -> dict[str, Any] | None:
    """Count the click (once per visitor and day) and return the cookie to set; None when
    the sharer follows their own link (it counts for nothing)."""
    if viewer is not None and viewer.id == link.sharer_id:
        return None
    cookie = read_cookie()
    visitor = cookie.get("v") or secrets.token_urlsafe(12)
    key = f"u{viewer.id}" if viewer is not None else f"v{visitor}"
    now = utcnow()
    today = now.date()
    seen = db.session.scalar(
        select(ShareClick.id).where(
            ShareClick.share_link_id == link.id, ShareClick.visitor == key, ShareClick.day == today
        )
    )
    if seen is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    ShareClick(
                        share_link_id=link.id,
                        visitor=key,
                        day=today,
                        user_id=viewer.id if viewer else None,
                        created_at=now,
                    )
                )
        except IntegrityError:
            pass  # the same visitor's second tab, at the same moment
        else:
            db.session.execute(
                update(ShareLink)
                .where(ShareLink.id == link.id)
                .values(clicks=ShareLink.clicks + 1)
                .execution_options(synchronize_session=False)
            )
    clicks = [c for c in cookie.get("c", []) if c[0] != link.id]
    clicks.append([link.id, now.timestamp()])
    return {"v": visitor, "c": clicks[-COOKIE_CLICKS:]}


def recent_clicks(user: User | None) -> list[tuple[int, datetime]]:
    """(link id, click time) within the attribution window, newest first: from this
    browser's cookie, and for a logged-in buyer also their recorded clicks elsewhere."""
    since = utcnow() - attribution_window()
    latest: dict[int, datetime] = {}
    for link_id, stamp in read_cookie().get("c", []):
        at = datetime.fromtimestamp(stamp, UTC)
        if at >= since and at > latest.get(link_id, since - timedelta(seconds=1)):
            latest[link_id] = at
    if user is not None:
        rows = db.session.execute(
            select(ShareClick.share_link_id, ShareClick.created_at)
            .where(ShareClick.user_id == user.id, ShareClick.created_at >= since)
            .order_by(ShareClick.created_at.desc())
            .limit(50)
        )
        for link_id, at in rows:
            if at > latest.get(link_id, since - timedelta(seconds=1)):
                latest[link_id] = at
    return sorted(latest.items(), key=lambda item: item[1], reverse=True)


# --- statistics ------------------------------------------------------------------------------


def links_of(user: User, limit: int = 200) -> list[ShareLink]:
    return list(
        db.session.scalars(
            select(ShareLink)
            .where(ShareLink.sharer_id == user.id)
            .order_by(ShareLink.clicks.desc(), ShareLink.id.desc())
            .limit(limit)
        )
    )


def target_labels(links: list[ShareLink]) -> dict[int, str]:
    """A readable name for each link's target, in one query per kind of target."""
    labels: dict[int, str] = {}
    by_type: dict[str, list[int]] = {}
    for link in links:
        by_type.setdefault(link.target_type, []).append(link.target_id)
    if by_type.get(Target.PRODUCT) or by_type.get(Target.PICK):
        pick_products = dict(
            db.session.execute(
                select(Pick.id, Product.title)
                .join(Product, Product.id == Pick.product_id)
                .where(Pick.id.in_(by_type.get(Target.PICK, [])))
            ).all()
        )
        products = dict(
            db.session.execute(
                select(Product.id, Product.title).where(
                    Product.id.in_(by_type.get(Target.PRODUCT, []))
                )
            ).all()
        )
    else:
        pick_products, products = {}, {}
    collections = (
        dict(
            db.session.execute(
                select(Collection.id, Collection.title).where(
                    Collection.id.in_(by_type[Target.COLLECTION])
                )
            ).all()
        )
        if by_type.get(Target.COLLECTION)
        else {}
    )
    gone = _("(removed)")
    for link in links:
        source = {
            Target.PICK: pick_products,
            Target.PRODUCT: products,
            Target.COLLECTION: collections,
        }.get(link.target_type, {})
        labels[link.id] = str(source.get(link.target_id, gone))
    return labels


def can_see_stats(viewer: User, link: ShareLink) -> bool:
    return viewer.id == link.sharer_id or is_moderator(viewer)
