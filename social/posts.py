"""Picks (one product and why I love it) and collections (an ordered list of products from
any shops): the curator's use cases, and what visitors may see of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    delete,
    func,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import joinedload

from app import media
from app.accounts.models import User
from app.database import kept_statement
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, Forbidden, NotFound, RuleViolation
from marketplace import products as product_services
from marketplace.models import Product, Shop
from marketplace.pagination import Page, paginate_select
from social import share_links
from social.models import (
    COLLECTION_DESCRIPTION_MAX,
    COLLECTION_ITEMS_MAX,
    COLLECTION_TITLE_MAX,
    ITEM_NOTE_MAX,
    NOTE_MAX,
    Collection,
    CollectionItem,
    Comment,
    EventKind,
    FeedEvent,
    Like,
    Pick,
    Target,
)
from social.rules import check_length, ensure_can_post, is_moderator, not_suspended, plain_text

# What a pick or a collection entry adds to a product's popularity (trending sorts by it).
PICK_POPULARITY = 5
COLLECTION_POPULARITY = 2
PHOTO_SIZES = (800,)


def _listed_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or not product.listed:
        raise NotFound(_("That product is not available."), field="product_id")
    return product


def _photo(data: bytes | None, field: str) -> str | None:
    if not data:
        return None
    stored = media.store_image(data, thumbnail_sizes=PHOTO_SIZES, field_name=field)
    return stored.thumbnails[PHOTO_SIZES[0]]


# --- picks -----------------------------------------------------------------------------------


def visible_picks() -> list[Any]:
    """SQL conditions: a pick others may see (not hidden, author not suspended)."""
    return [Pick.hidden_at.is_(None), not_suspended(Pick.author_id)]


def _pick_options() -> tuple[Any, ...]:
    return (
        joinedload(Pick.author),
        joinedload(Pick.product).joinedload(Product.shop),
        joinedload(Pick.share_link),
    )


def visible_pick(pick_id: int, viewer: User | None) -> Pick:
    pick = db.session.scalar(select(Pick).where(Pick.id == pick_id).options(*_pick_options()))
    if pick is None:
        raise NotFound(_("There is no such pick."))
    if not is_moderator(viewer):
        shown = db.session.scalar(select(Pick.id).where(Pick.id == pick.id, *visible_picks()))
        if shown is None:
            raise NotFound(_("There is no such pick."))
    return pick


def own_pick(actor: User, pick_id: int) -> Pick:
    pick = db.session.scalar(select(Pick).where(Pick.id == pick_id).options(*_pick_options()))
    if pick is None:
        raise NotFound(_("There is no such pick."))
    if pick.author_id != actor.id:
        raise Forbidden(_("Only its author can change this."))
    return pick


def create_pick(actor: User, product_id: int, note: str, photo: bytes | None = None) -> Pick:
    ensure_can_post(actor)
    product = _listed_product(product_id)
    clean = plain_text(note)
    check_length(clean, "note", NOTE_MAX)
    exists = db.session.scalar(
        select(Pick.id).where(Pick.author_id == actor.id, Pick.product_id == product.id)
    )
    if exists is not None:
        raise Conflict(_("You have already picked this product."), field="product_id")
    pick = Pick(
        author_id=actor.id,
        author=actor,
        product_id=product.id,
        product=product,
        note=clean,
        photo_key=_photo(photo, "photo"),
    )
    db.session.add(pick)
    db.session.flush()
    link = share_links.link_for(actor, Target.PICK, pick.id, product.id)
    pick.share_link_id = link.id
    pick.share_link = link
    db.session.add(
        FeedEvent(
            actor_id=actor.id,
            kind=EventKind.PICK,
            pick_id=pick.id,
            product_id=product.id,
            share_link_id=link.id,
        )
    )
    product_services.bump_popularity(product.id, PICK_POPULARITY)
    db.session.flush()
    return pick


def update_pick(
    actor: User,
    pick: Pick,
    note: str,
    photo: bytes | None = None,
    remove_photo: bool = False,
) -> Pick:
    ensure_can_post(actor)
    if pick.author_id != actor.id:
        raise Forbidden(_("Only its author can change this."))
    clean = plain_text(note)
    check_length(clean, "note", NOTE_MAX)
    pick.note = clean
    if remove_photo:
        pick.photo_key = None
    if photo:
        pick.photo_key = _photo(photo, "photo")
    pick.updated_at = utcnow()
    db.session.flush()
    return pick


def _forget(target_type: str, target_id: int) -> None:
    """Likes and comments name their target without a foreign key; remove them with it."""
    db.session.execute(
        delete(Comment).where(Comment.target_type == target_type, Comment.target_id == target_id)
    )
    db.session.execute(
        delete(Like).where(Like.target_type == target_type, Like.target_id == target_id)
    )


def delete_pick(actor: User, pick: Pick) -> None:
    if pick.author_id != actor.id and not is_moderator(actor):
        raise Forbidden(_("Only its author can change this."))
    _forget(Target.PICK, pick.id)
    product_services.bump_popularity(pick.product_id, -PICK_POPULARITY)
    db.session.delete(pick)  # its feed events go with it (ON DELETE CASCADE)
    db.session.flush()


def _listed_picks() -> Select[Any]:
    return (
        select(Pick)
        .join(Product, Product.id == Pick.product_id)
        .where(Product.listed.is_(True), *visible_picks())
        .options(*_pick_options())
    )


def picks_of(user: User, page: int = 1, per_page: int = 12) -> Page[Pick]:
    statement = _listed_picks().where(Pick.author_id == user.id)
    return paginate_select(
        statement.order_by(Pick.created_at.desc(), Pick.id.desc()), page, per_page
    )


def picks_of_product(product_id: int, limit: int = 6) -> list[Pick]:
    # On every product page: built once (app.database.kept_statement).
    statement = kept_statement(
        "social.picks_of_product",
        lambda: (
            _listed_picks()
            .where(Pick.product_id == bindparam("product_id"))
            .order_by(Pick.like_count.desc(), Pick.id.desc())
            .limit(bindparam("limit", type_=Integer))
        ),
    )
    return list(db.session.scalars(statement, {"product_id": product_id, "limit": limit}))


def trending_picks(limit: int = 12, days: int = 30) -> list[Pick]:
    # On a new person's feed: built once (app.database.kept_statement).
    statement = kept_statement(
        "social.trending_picks",
        lambda: (
            _listed_picks()
            .where(Pick.created_at >= bindparam("since"))
            .order_by(Pick.like_count.desc(), Pick.created_at.desc(), Pick.id.desc())
            .limit(bindparam("limit", type_=Integer))
        ),
    )
    since = utcnow() - timedelta(days=days)
    return list(db.session.scalars(statement, {"since": since, "limit": limit}))


# --- collections ---------------------------------------------------------------------------


def visible_collections() -> list[Any]:
    return [
        Collection.hidden_at.is_(None),
        Collection.is_public.is_(True),
        not_suspended(Collection.owner_id),
    ]


def visible_collection(collection_id: int, viewer: User | None) -> Collection:
    """A collection as the viewer may see it: a private one is its owner's alone (404 for
    everyone else, so its existence does not leak)."""
    collection = db.session.scalar(
        select(Collection)
        .where(Collection.id == collection_id)
        .options(joinedload(Collection.owner), joinedload(Collection.share_link))
    )
    missing = NotFound(_("There is no such collection."))
    if collection is None:
        raise missing
    is_owner = viewer is not None and viewer.id == collection.owner_id
    if is_owner and collection.hidden_at is None:
        return collection
    if is_moderator(viewer):
        return collection
    shown = db.session.scalar(
        select(Collection.id).where(Collection.id == collection.id, *visible_collections())
    )
    if shown is None:
        raise missing
    return collection


def removable_pick(actor: User, pick_id: int) -> Pick:
    """A pick the actor may delete: her own, or, for a moderator, anyone's."""
    return visible_pick(pick_id, actor) if is_moderator(actor) else own_pick(actor, pick_id)


def removable_collection(actor: User, collection_id: int) -> Collection:
    """A collection the actor may delete: her own, or, for a moderator, anyone's public one."""
    if is_moderator(actor):
        return visible_collection(collection_id, actor)
    return own_collection(actor, collection_id)


def own_collection(actor: User, collection_id: int) -> Collection:
    collection = db.session.get(Collection, collection_id)
    if collection is None or (collection.owner_id != actor.id and not collection.is_public):
        raise NotFound(_("There is no such collection."))
    if collection.owner_id != actor.id:
        raise Forbidden(_("Only its owner can change this collection."))
    return collection


def _check_collection(title: str, description: str) -> tuple[str, str]:
    clean_title = " ".join(plain_text(title).split())
    clean_description = plain_text(description)
    check_length(clean_title, "title", COLLECTION_TITLE_MAX, minimum=1)
    check_length(clean_description, "description", COLLECTION_DESCRIPTION_MAX)
    return clean_title, clean_description


def create_collection(
    actor: User,
    title: str,
    description: str = "",
    is_public: bool = True,
    cover: bytes | None = None,
) -> Collection:
    ensure_can_post(actor)
    clean_title, clean_description = _check_collection(title, description)
    collection = Collection(
        owner_id=actor.id,
        owner=actor,
        title=clean_title,
        description=clean_description,
        is_public=bool(is_public),
        cover_key=_photo(cover, "cover"),
    )
    db.session.add(collection)
    db.session.flush()
    link = share_links.link_for(actor, Target.COLLECTION, collection.id, None)
    collection.share_link_id = link.id
    collection.share_link = link
    db.session.add(
        FeedEvent(
            actor_id=actor.id,
            kind=EventKind.COLLECTION,
            collection_id=collection.id,
            share_link_id=link.id,
        )
    )
    db.session.flush()
    return collection


def update_collection(
    actor: User,
    collection: Collection,
    *,
    title: str,
    description: str,
    is_public: bool,
    cover: bytes | None = None,
    remove_cover: bool = False,
) -> Collection:
    ensure_can_post(actor)
    if collection.owner_id != actor.id:
        raise Forbidden(_("Only its owner can change this collection."))
    collection.title, collection.description = _check_collection(title, description)
    collection.is_public = bool(is_public)
    if remove_cover:
        collection.cover_key = None
    if cover:
        collection.cover_key = _photo(cover, "cover")
    collection.updated_at = utcnow()
    db.session.flush()
    return collection


def delete_collection(actor: User, collection: Collection) -> None:
    if collection.owner_id != actor.id and not is_moderator(actor):
        raise Forbidden(_("Only its owner can change this collection."))
    _forget(Target.COLLECTION, collection.id)
    db.session.delete(collection)
    db.session.flush()


def collection_has(collection_id: int, product_id: int) -> bool:
    return (
        db.session.scalar(
            select(CollectionItem.id).where(
                CollectionItem.collection_id == collection_id,
                CollectionItem.product_id == product_id,
            )
        )
        is not None
    )


def add_item(
    actor: User, collection: Collection, product_id: int, note: str = ""
) -> CollectionItem:
    ensure_can_post(actor)
    if collection.owner_id != actor.id:
        raise Forbidden(_("Only its owner can change this collection."))
    product = _listed_product(product_id)
    clean = plain_text(note)
    check_length(clean, "note", ITEM_NOTE_MAX)
    if collection_has(collection.id, product.id):
        raise Conflict(_("This product is already in that collection."), field="product_id")
    if collection.item_count >= COLLECTION_ITEMS_MAX:
        raise RuleViolation(
            _("A collection holds at most %(max)d products.", max=COLLECTION_ITEMS_MAX),
            field="product_id",
        )
    last = db.session.scalar(
        select(func.max(CollectionItem.position)).where(
            CollectionItem.collection_id == collection.id
        )
    )
    item = CollectionItem(
        collection_id=collection.id,
        product_id=product.id,
        product=product,
        note=clean,
        position=(last if last is not None else -1) + 1,
    )
    db.session.add(item)
    collection.item_count = collection.item_count + 1
    collection.updated_at = utcnow()
    if collection.cover_key is None and product.cover_key:
        # Until the owner chooses a cover, the first product with a picture stands in.
        collection.cover_key = product.cover_key
    db.session.add(
        FeedEvent(
            actor_id=actor.id,
            kind=EventKind.COLLECTION_ITEM,
            collection_id=collection.id,
            product_id=product.id,
            share_link_id=collection.share_link_id,
        )
    )
    product_services.bump_popularity(product.id, COLLECTION_POPULARITY)
    db.session.flush()
    return item


def _item(collection: Collection, product_id: int) -> CollectionItem:
    item = db.session.scalar(
        select(CollectionItem).where(
            CollectionItem.collection_id == collection.id,
            CollectionItem.product_id == product_id,
        )
    )
    if item is None:
        raise NotFound(_("That product is not in this collection."))
    return item


def update_item(actor: User, collection: Collection, product_id: int, note: str) -> CollectionItem:
    ensure_can_post(actor)
    if collection.owner_id != actor.id:
        raise Forbidden(_("Only its owner can change this collection."))
    item = _item(collection, product_id)
    clean = plain_text(note)
    check_length(clean, "note", ITEM_NOTE_MAX)
    item.note = clean
    db.session.flush()
    return item


def remove_item(actor: User, collection: Collection, product_id: int) -> None:
    if collection.owner_id != actor.id:
        raise Forbidden(_("Only its owner can change this collection."))
    item = _item(collection, product_id)
    db.session.execute(
        delete(FeedEvent).where(
            FeedEvent.kind == EventKind.COLLECTION_ITEM,
            FeedEvent.collection_id == collection.id,
            FeedEvent.product_id == product_id,
        )
    )
    db.session.delete(item)
    collection.item_count = max(collection.item_count - 1, 0)
    collection.updated_at = utcnow()
    db.session.flush()


def items_of(collection: Collection) -> list[CollectionItem]:
    """The collection's products in order; those no longer on sale are left out."""
    return list(
        db.session.scalars(
            select(CollectionItem)
            .join(Product, Product.id == CollectionItem.product_id)
            .where(CollectionItem.collection_id == collection.id, Product.listed.is_(True))
            .options(
                joinedload(CollectionItem.product).joinedload(Product.shop),
                # A storefront's "Add to cart" posts the only variant of a product.
                joinedload(CollectionItem.product).selectinload(Product.variants),
            )
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )


def cover_keys(collection_ids: Sequence[int], limit: int = 4) -> dict[int, list[str]]:
    """The pictures of the first `limit` products (with one, on sale) of each collection, in
    the collection's order: what a grid of collections draws its covers from, in one query."""
    if not collection_ids:
        return {}
    ranked = (
        select(
            CollectionItem.collection_id,
            Product.cover_key,
            func.row_number()
            .over(
                partition_by=CollectionItem.collection_id,
                order_by=(CollectionItem.position, CollectionItem.id),
            )
            .label("rank"),
        )
        .join(Product, Product.id == CollectionItem.product_id)
        .where(
            CollectionItem.collection_id.in_(list(collection_ids)),
            Product.listed.is_(True),
            Product.cover_key.is_not(None),
        )
        .subquery()
    )
    found: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(ranked.c.collection_id, ranked.c.cover_key)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.collection_id, ranked.c.rank)
    )
    for collection_id, key in rows:
        found.setdefault(int(collection_id), []).append(str(key))
    return found


def reorder(actor: User, collection: Collection, product_ids: Sequence[int]) -> None:
    """Put the items in the given order (every product of the collection, once)."""
    if collection.owner_id != actor.id:
        raise Forbidden(_("Only its owner can change this collection."))
    items = list(
        db.session.scalars(
            select(CollectionItem).where(CollectionItem.collection_id == collection.id)
        )
    )
    by_product = {item.product_id: item for item in items}
    if sorted(product_ids) != sorted(by_product) or len(set(product_ids)) != len(product_ids):
        raise RuleViolation(
            _("List every product of the collection once, in the new order."), field="product_ids"
        )
    for position, product_id in enumerate(product_ids):
        by_product[product_id].position = position
    collection.updated_at = utcnow()
    db.session.flush()


def move_item(actor: User, collection: Collection, product_id: int, step: int) -> None:
    """Move one item up (-1) or down (+1): the form buttons of a page without JavaScript."""
    order = list(
        db.session.scalars(
            select(CollectionItem.product_id)
            .where(CollectionItem.collection_id == collection.id)
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )
    if product_id not in order:
        raise NotFound(_("That product is not in this collection."))
    index = order.index(product_id)
    target = min(max(index + (1 if step > 0 else -1), 0), len(order) - 1)
    order.insert(target, order.pop(index))
    reorder(actor, collection, order)


def collections_of(
    user: User, viewer: User | None, page: int = 1, per_page: int = 12
) -> Page[Collection]:
    statement = select(Collection).where(Collection.owner_id == user.id)
    if viewer is None or viewer.id != user.id:
        statement = statement.where(*visible_collections())
    else:
        statement = statement.where(Collection.hidden_at.is_(None))
    statement = statement.options(joinedload(Collection.owner), joinedload(Collection.share_link))
    return paginate_select(
        statement.order_by(Collection.created_at.desc(), Collection.id.desc()), page, per_page
    )


def likes_and_collections(
    actor: User, product_ids: Sequence[int], limit: int = 100
) -> tuple[set[int], list[tuple[int, str]]]:
    """Which of these products the person likes, and their collections to add one to
    (id and title, newest first): what a product page's actions need, in one round trip."""
    theirs = (
        select(Collection.id, Collection.title)
        .where(Collection.owner_id == actor.id, Collection.hidden_at.is_(None))
        .order_by(Collection.updated_at.desc(), Collection.id.desc())
        .limit(limit)
        .subquery()
    )
    liked = select(
        literal(0).label("kind"), Like.target_id.label("id"), null().label("title")
    ).where(
        Like.user_id == actor.id,
        Like.target_type == Target.PRODUCT,
        Like.target_id.in_(list(product_ids)),
    )
    rows = db.session.execute(
        union_all(liked, select(literal(1), theirs.c.id, theirs.c.title))
    ).all()
    return (
        {int(row.id) for row in rows if row.kind == 0},
        [(int(row.id), str(row.title)) for row in rows if row.kind == 1],
    )


def my_collections(actor: User, limit: int = 100) -> list[Collection]:
    return list(
        db.session.scalars(
            select(Collection)
            .where(Collection.owner_id == actor.id, Collection.hidden_at.is_(None))
            .order_by(Collection.updated_at.desc(), Collection.id.desc())
            .limit(limit)
        )
    )


def collections_with_product(product_id: int, limit: int = 6) -> list[Collection]:
    # On every product page: built once (app.database.kept_statement).
    statement = kept_statement(
        "social.collections_with_product",
        lambda: (
            select(Collection)
            .join(CollectionItem, CollectionItem.collection_id == Collection.id)
            .where(CollectionItem.product_id == bindparam("product_id"), *visible_collections())
            .options(joinedload(Collection.owner))
            .order_by(Collection.like_count.desc(), Collection.id.desc())
            .limit(bindparam("limit", type_=Integer))
        ),
    )
    return list(db.session.scalars(statement, {"product_id": product_id, "limit": limit}))


def shop_owner_of(product_id: int) -> int | None:
    return db.session.scalar(
        select(Shop.owner_id)
        .join(Product, Product.shop_id == Shop.id)
        .where(Product.id == product_id)
    )


def bump_counter(model: Any, row_id: int, column: str, amount: int) -> None:
    """One atomic UPDATE of a counter column (likes, comments) without reading the row."""
    db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values({column: getattr(model, column) + amount})
        .execution_options(synchronize_session=False)
    )
