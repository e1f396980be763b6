"""Saved things: what a person liked, on one page (products first, then the picks and
collections), and the news of what they saved: a price drop, a sold-out variant back.

The marketplace announces a price drop or a restock (marketplace.signals) inside the seller's
unit of work; here that only queues a job, which runs after the commit in its own unit of
work. The job records the news once (`SavedAlert.dedupe_key`: the same drop or restock told
twice is one alert) and tells the people who saved the product, BATCH at a time: a product
saved by many is told by a chain of jobs, each carrying on from the last one's recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import and_, case, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from app import jobs
from app.accounts.forms import ConfirmForm
from app.accounts.models import User
from app.accounts.services import current_person
from app.extensions import db
from app.forms import int_arg
from app.hooks import NavLink, add_seeder
from app.hooks import hooks as app_hooks
from app.models import utcnow
from marketplace import products as product_services
from marketplace import signals
from marketplace.models import Product, Shop
from marketplace.pagination import Page, paginate_select
from social import notifications
from social.models import (
    Collection,
    Like,
    Notification,
    NotificationKind,
    Pick,
    SavedAlert,
    Target,
)
from social.rules import not_suspended

PAGE_SIZE = 24
# A notification's target when it tells of a saved product's news.
ALERT_TARGET = "saved_alert"
ALERT_JOB = "saved.alert"
BATCH_JOB = "saved.alert_batch"
BATCH = 200
# "Only 2 left" on a saved product's card, at this many or fewer.
FEW_LEFT = 3
# A saved product's card shows its price before a drop for this long.
DROP_SHOWN_DAYS = 14

blueprint = Blueprint("saved", __name__, template_folder="templates")


# --- the saved page --------------------------------------------------------------------------


@dataclass
class SavedItem:
    kind: str  # Target.PRODUCT, PICK or COLLECTION
    saved_at: datetime
    product: Product | None = None
    pick: Pick | None = None
    collection: Collection | None = None


def saved_statement(user: User) -> Any:
    """What `user` saved and may still see: listed products, picks not hidden by a moderator
    nor by a suspension, public collections (and their own private ones). Products first,
    then picks and collections; the newest saved first within each."""
    shown = or_(
        and_(Like.target_type == Target.PRODUCT, Product.listed.is_(True)),
        and_(
            Like.target_type == Target.PICK,
            Pick.hidden_at.is_(None),
            not_suspended(Pick.author_id),
        ),
        and_(
            Like.target_type == Target.COLLECTION,
            Collection.hidden_at.is_(None),
            or_(
                and_(Collection.is_public.is_(True), not_suspended(Collection.owner_id)),
                Collection.owner_id == user.id,
            ),
        ),
    )
    products_first = case((Like.target_type == Target.PRODUCT, 0), else_=1)
    return (
        select(Like, Product, Pick, Collection)
        .outerjoin(Product, and_(Like.target_type == Target.PRODUCT, Product.id == Like.target_id))
        .outerjoin(Pick, and_(Like.target_type == Target.PICK, Pick.id == Like.target_id))
        .outerjoin(
            Collection,
            and_(Like.target_type == Target.COLLECTION, Collection.id == Like.target_id),
        )
        .where(Like.user_id == user.id, shown)
        .options(
            joinedload(Product.shop),
            joinedload(Pick.author),
            joinedload(Pick.product).joinedload(Product.shop),
            joinedload(Collection.owner),
        )
        .order_by(products_first, Like.created_at.desc(), Like.id.desc())
    )


def saved_page(user: User, page: int = 1, per_page: int = PAGE_SIZE) -> Page[SavedItem]:
    found = paginate_select(saved_statement(user), page, per_page, scalars=False)
    items = [
        SavedItem(like.target_type, like.created_at, product, pick, collection)
        for like, product, pick, collection in found.items
    ]
    return Page(items, found.page, found.per_page, found.has_next)


def recent_drops(products: list[Product]) -> dict[int, int]:
    """What each of these products cost before its latest price drop (in the last
    DROP_SHOWN_DAYS), by id, where the price is still as low: the card shows it struck out."""
    if not products:
        return {}
    since = utcnow() - timedelta(days=DROP_SHOWN_DAYS)
    rows = db.session.execute(
        select(SavedAlert.product_id, SavedAlert.old_price_minor, SavedAlert.new_price_minor)
        .where(
            SavedAlert.product_id.in_([p.id for p in products]),
            SavedAlert.kind == NotificationKind.PRICE_DROP,
            SavedAlert.created_at >= since,
        )
        .order_by(SavedAlert.id)
    )
    latest: dict[int, tuple[int, int]] = {
        product_id: (old, new)
        for product_id, old, new in rows
        if old is not None and new is not None
    }
    return {
        product.id: latest[product.id][0]
        for product in products
        if product.id in latest and product.price_minor <= latest[product.id][1]
    }


@blueprint.get("/saved")
@login_required
def page() -> str:
    found = saved_page(current_person(), int_arg("page", 1))
    products = [item.product for item in found.items if item.product is not None]
    return render_template(
        "social/saved.html",
        page=found,
        products=products,
        was=recent_drops(products),
        posts=[item for item in found.items if item.kind != Target.PRODUCT],
        few_left=FEW_LEFT,
        confirm=ConfirmForm(),
    )


# --- news of saved products ------------------------------------------------------------------


def _enqueue_alert(
    product: Product,
    kind: str,
    actor: User | None,
    old_price_minor: int | None = None,
    new_price_minor: int | None = None,
) -> None:
    jobs.enqueue(
        ALERT_JOB,
        product_id=product.id,
        kind=kind,
        old_price_minor=old_price_minor,
        new_price_minor=new_price_minor,
        actor_id=actor.id if actor else None,
        day=utcnow().date().isoformat(),
    )


def _on_price_dropped(
    _app: Flask,
    product: Product,
    old_price_minor: int,
    new_price_minor: int,
    actor: User | None,
    **_extra: Any,
) -> None:
    _enqueue_alert(product, NotificationKind.PRICE_DROP, actor, old_price_minor, new_price_minor)


def _on_back_in_stock(
    _app: Flask, product: Product, variant_ids: list[int], actor: User | None, **_extra: Any
) -> None:
    _enqueue_alert(product, NotificationKind.BACK_IN_STOCK, actor)


def dedupe_key(kind: str, product_id: int, new_price_minor: int | None, day: str) -> str:
    """The same news on the same day is one alert: a drop to the same price, or the
    product coming back (whichever of its variants)."""
    if kind == NotificationKind.PRICE_DROP:
        return f"{kind}:{product_id}:{new_price_minor}:{day}"
    return f"{kind}:{product_id}:{day}"


def _record(values: dict[str, Any]) -> int | None:
    """Insert the alert unless its news is recorded already (then None): one statement, so
    two jobs at once cannot both record it."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(SavedAlert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[SavedAlert.dedupe_key])
        .returning(SavedAlert.id)
    )
    return db.session.scalar(statement)


def alert_job(
    product_id: int,
    kind: str,
    old_price_minor: int | None,
    new_price_minor: int | None,
    actor_id: int | None,
    day: str,
) -> None:
    product = db.session.get(Product, product_id)
    if product is None or not product.listed:
        return
    if kind == NotificationKind.PRICE_DROP:
        # Queued jobs can run late: a price raised again since is no news any more.
        lowest = product_services.offer_of(product).lowest_price
        if lowest is None or new_price_minor is None or lowest > new_price_minor:
            return
    alert_id = _record(
        {
            "product_id": product_id,
            "kind": kind,
            "old_price_minor": old_price_minor,
            "new_price_minor": new_price_minor,
            "actor_id": actor_id,
            "dedupe_key": dedupe_key(kind, product_id, new_price_minor, day),
            "notified_through": 0,
            "created_at": utcnow(),
        }
    )
    if alert_id is not None:
        tell_next(alert_id)


def batch_job(alert_id: int) -> None:
    tell_next(alert_id)


def recipients(alert: SavedAlert, after: int, limit: int) -> list[int]:
    """Who saved the product and is told, by id after `after`: never the person who made the
    change nor the shop's owner, never a suspended person."""
    owner_id = db.session.scalar(
        select(Shop.owner_id)
        .join(Product, Product.shop_id == Shop.id)
        .where(Product.id == alert.product_id)
    )
    excluded = {owner_id, alert.actor_id} - {None}
    statement = (
        select(Like.user_id)
        .where(
            Like.target_type == Target.PRODUCT,
            Like.target_id == alert.product_id,
            Like.user_id > after,
            not_suspended(Like.user_id),
        )
        .order_by(Like.user_id)
        .limit(limit)
    )
    if excluded:
        statement = statement.where(Like.user_id.not_in(excluded))
    return list(db.session.scalars(statement))


def tell_next(alert_id: int) -> None:
    """Tell the next BATCH people of an alert; queue the rest. Locks the alert, so two runs
    of the same batch (a retry, two workers) tell each person once."""
    alert = db.session.scalar(
        select(SavedAlert)
        .where(SavedAlert.id == alert_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if alert is None or not alert.product.listed:
        return
    found = recipients(alert, alert.notified_through, BATCH + 1)
    batch = found[:BATCH]
    details = {
        "old_price_minor": alert.old_price_minor,
        "new_price_minor": alert.new_price_minor,
    }
    link = notifications.absolute_url(
        "catalogue.product", product_id=alert.product_id, slug=alert.product.slug
    )
    for recipient_id in batch:
        notifications.notify(
            recipient_id,
            alert.kind,
            target_type=ALERT_TARGET,
            target_id=alert.id,
            product_id=alert.product_id,
            link=link,
            subject_text=alert.product.title,
            details=details,
        )
    if batch:
        alert.notified_through = batch[-1]
        db.session.flush()
    if len(found) > BATCH:
        jobs.enqueue(BATCH_JOB, alert_id=alert.id)


def alerts_for(rows: list[Notification]) -> dict[int, SavedAlert]:
    """The alerts a page of notifications tells of, by id (one query)."""
    ids = {row.target_id for row in rows if row.target_type == ALERT_TARGET and row.target_id}
    if not ids:
        return {}
    return {
        alert.id: alert
        for alert in db.session.scalars(select(SavedAlert).where(SavedAlert.id.in_(ids)))
    }


# --- the demo ---------------------------------------------------------------------------------

DEMO_SHOPPER = "farid"


def seed_saved(progress: Any) -> None:
    """Farid (the demo shopper) saves a few products, a pick and a collection; then a shop
    lowers the price of one of them, so his Saved page and his notifications have news."""
    from social import reactions

    shopper = db.session.scalar(select(User).where(User.handle == DEMO_SHOPPER))
    if shopper is None:
        return
    if db.session.scalar(
        select(Like.id).where(Like.user_id == shopper.id, Like.target_type == Target.PRODUCT)
    ):
        return
    listed = list(
        db.session.scalars(
            select(Product)
            .join(Shop, Shop.id == Product.shop_id)
            .where(Product.listed.is_(True), Shop.owner_id != shopper.id)
            .order_by(Product.popularity.desc(), Product.id)
            .options(joinedload(Product.shop).joinedload(Shop.owner))
        )
    )
    sold_out = [p for p in listed if not p.in_stock][:1]
    chosen = sold_out + [p for p in listed if p.in_stock][:7]
    for product in reversed(chosen):  # the first chosen is the newest saved
        reactions.like(shopper, Target.PRODUCT, product.id)
    for target_type, model in ((Target.COLLECTION, Collection), (Target.PICK, Pick)):
        owner = Collection.owner_id if model is Collection else Pick.author_id
        found = db.session.scalar(
            select(model.id).where(owner != shopper.id).order_by(model.id).limit(1)
        )
        if found is not None:
            reactions.like(shopper, target_type, found)
    cheaper = next((p for p in chosen if p.in_stock and len(p.variants) == 1), None)
    if cheaper is not None:
        variant = cheaper.variants[0]
        new_price = max(100, (variant.price_minor * 8 // 10) // 100 * 100)
        product_services.update_variant(
            cheaper.shop.owner,
            cheaper,
            variant.id,
            product_services.VariantInput(
                price_minor=new_price,
                stock=variant.stock,
                sku=variant.sku,
                option1=variant.option1,
                option2=variant.option2,
            ),
        )
    progress.step(
        f"@{DEMO_SHOPPER} saved {len(chosen)} products"
        + (f"; “{cheaper.title}” got cheaper" if cheaper is not None else "")
    )


# --- wiring ----------------------------------------------------------------------------------


def _logged_in() -> bool:
    return bool(current_user.is_authenticated)


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    registry = app_hooks(app)
    registry.nav.append(NavLink(50, "saved.page", _l("Saved"), visible=_logged_in))
    registry.account_nav.append(NavLink(32, "saved.page", _l("Saved")))
    signals.price_dropped.connect(_on_price_dropped, app)
    signals.back_in_stock.connect(_on_back_in_stock, app)
    jobs.register(app, ALERT_JOB, alert_job)
    jobs.register(app, BATCH_JOB, batch_job)
    add_seeder(app, 35, "saved things and a price drop", seed_saved)
