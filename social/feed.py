"""The home feed: what the people you follow did, newest first.

Two sources: the feed events of the people followed and the newest products of their shops.
A page ends with a keyset cursor "<microseconds>.<source>.<id>", so page 1 and page 100 cost
the same, and a page costs the same number of queries whatever its size.

Where a page's items come from:

* with Redis (REDIS_URL), from the viewer's timeline (social.timeline): the ids of the page's
  newest items, kept up to date as people post and follow, so the database only loads rows by
  primary key, applying the visibility rules (hidden, private, unlisted, withdrawn, suspended,
  no longer followed) as it does;
* otherwise, or where the timeline cannot vouch for a page (not built yet, too many hidden
  items in a row, older than it keeps, Redis not answering), from the database: each source
  ranked on read (ix_feed_events_actor_created, ix_products_shop_listed), cut to one page,
  and merged. Both give the same pages.

Both paths end in `_page`, which also groups the page's items into cards: consecutive events
of one person of the same kind on the same target within GROUP_WINDOW ("Chloé added 6 items to
Calm mornings") are one card. A page does not end inside a group when it can move the group to
the next page whole and still be half full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    or_,
    select,
    true,
)
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.database import kept_statement
from app.extensions import db
from app.models import INT_MAX
from marketplace.models import Product, Shop
from social import timeline
from social.idea_models import Idea, IdeaStatus
from social.models import Collection, EventKind, FeedEvent, Follow, Pick, ShareLink
from social.polls.models import Poll
from social.rules import not_suspended
from social.timeline import EVENTS, PRODUCTS
from social.timeline import micros as _micros

PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
# Events of one person of one kind on one target this close to the group's newest are one card.
GROUP_WINDOW = timedelta(hours=24)
# The kinds that group, and what each is about: a collection's items, a shop's new products,
# a buyer's purchases from one shop. Picks carry a note and a like each, ideas a vote count:
# they stay cards of their own.
GROUPED_KINDS = frozenset({EventKind.COLLECTION_ITEM, EventKind.PRODUCT, EventKind.PURCHASE})


@dataclass
class FeedItem:
    kind: str
    at: datetime
    actor: User
    pick: Pick | None = None
    collection: Collection | None = None
    product: Product | None = None
    share_link: ShareLink | None = None
    idea: Idea | None = None
    poll: Poll | None = None
    source: int = EVENTS
    row_id: int = 0

    @property
    def cursor(self) -> str:
        return f"{_micros(self.at)}.{self.source}.{self.row_id}"


@dataclass
class FeedCard:
    """One card of the feed: one item, or consecutive items grouped (newest first)."""

    items: list[FeedItem]

    @property
    def lead(self) -> FeedItem:
        return self.items[0]

    @property
    def kind(self) -> str:
        return self.lead.kind

    @property
    def actor(self) -> User:
        return self.lead.actor

    @property
    def at(self) -> datetime:
        return self.lead.at

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def products(self) -> list[Product]:
        return [item.product for item in self.items if item.product is not None]

    @property
    def key(self) -> str:
        """What the card is made of: its first and last items and how many (the items between
        are that person's events in a row, the same for everyone who sees them)."""
        return f"{self.items[0].cursor}-{self.items[-1].cursor}-{len(self.items)}"


@dataclass
class FeedPage:
    items: list[FeedItem]
    next_cursor: str | None
    cards: list[FeedCard] = field(default_factory=list)


def group_key(item: FeedItem) -> tuple[int, str, int] | None:
    """What an item groups by (person, kind, target), or None for an item that stays alone."""
    if item.kind not in GROUPED_KINDS:
        return None
    if item.kind == EventKind.COLLECTION_ITEM:
        target = item.collection.id if item.collection is not None else None
    else:
        target = item.product.shop_id if item.product is not None else None
    if target is None:
        return None
    return (item.actor.id, item.kind, target)


def group_window() -> timedelta:
    minutes = current_app.config.get("FEED_GROUP_WINDOW_MINUTES")
    return GROUP_WINDOW if minutes is None else timedelta(minutes=int(minutes))


def group(items: list[FeedItem], window: timedelta) -> list[FeedCard]:
    """The items (in feed order) as cards: an item joins the card before it when both group
    by the same person, kind and target and it is within `window` of the card's newest."""
    cards: list[FeedCard] = []
    last_key: tuple[int, str, int] | None = None
    for item in items:
        key = group_key(item)
        if cards and key is not None and key == last_key and cards[-1].lead.at - item.at <= window:
            cards[-1].items.append(item)
            continue
        cards.append(FeedCard([item]))
        last_key = key
    return cards


def parse_cursor(raw: str | None) -> tuple[datetime, int, int] | None:
    """A cursor from the query string; a malformed one means "from the start"."""
    if not raw:
        return None
    try:
        micros, source, row_id = (int(part) for part in raw.split("."))
        at = datetime.fromtimestamp(micros / 1_000_000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if not 0 <= row_id <= INT_MAX:  # no row has it, and the databases refuse to compare it
        return None
    return at, source, row_id


# The feed's statements are built once per shape and kept (building one, with its LATERAL
# joins, cost more than running it); what changes between requests is bound on execution:
# the viewer, the page size and the cursor's position.
def _kept(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    return kept_statement(("social.feed", *key), build)


def _cursor_shape(cursor: tuple[datetime, int, int] | None, source: int) -> str:
    """Which keyset condition a source's rows need to come after the cursor."""
    if cursor is None:
        return "start"
    cursor_source = cursor[1]
    if source < cursor_source:
        return "at_or_before"
    if source > cursor_source:
        return "before"
    return "before_or_same_time"


def _cursor_params(cursor: tuple[datetime, int, int] | None) -> dict[str, Any]:
    if cursor is None:
        return {}
    at, _source, row_id = cursor
    return {"cursor_at": at, "cursor_id": row_id}


def _after(shape: str, at_column: Any, id_column: Any) -> ColumnElement[bool]:
    """Keyset condition: rows that come after the cursor in (time, source, id) descending."""
    at: Any = bindparam("cursor_at")
    cursor_id: Any = bindparam("cursor_id")
    if shape == "start":
        return true()
    condition: ColumnElement[bool]
    if shape == "at_or_before":
        condition = at_column <= at
    elif shape == "before":
        condition = at_column < at
    else:
        condition = or_(at_column < at, and_(at_column == at, id_column < cursor_id))
    return condition


def _followees() -> Select[Any]:
    return select(Follow.followee_id).where(Follow.follower_id == bindparam("viewer_id"))


# --- what a follower may see ------------------------------------------------------------------
# The rules every path applies: the database path where it ranks, the timeline's where it
# loads the rows by primary key. Each takes the event's columns, so a LATERAL row can use them.


def _visible_event(pick_id: Any, collection_id: Any, product_id: Any, idea_id: Any) -> list[Any]:
    """An event shows when what it is about is not hidden, private, unlisted or withdrawn
    (with Pick, Collection, Product and Idea outer-joined on these columns)."""
    return [
        or_(pick_id.is_(None), Pick.hidden_at.is_(None)),
        or_(
            collection_id.is_(None),
            and_(Collection.hidden_at.is_(None), Collection.is_public.is_(True)),
        ),
        or_(product_id.is_(None), Product.listed.is_(True)),
        or_(idea_id.is_(None), Idea.status != IdeaStatus.WITHDRAWN),
    ]


def _visible_product() -> list[Any]:
    """A shop's product shows when listed and published (with Shop joined)."""
    return [Product.listed.is_(True), Product.published_at.is_not(None)]


def _visible_event_conditions(shape: str) -> list[Any]:
    return [
        *_visible_event(
            FeedEvent.pick_id, FeedEvent.collection_id, FeedEvent.product_id, FeedEvent.idea_id
        ),
        _after(shape, FeedEvent.created_at, FeedEvent.id),
    ]


def _per_followee() -> bool:
    """On PostgreSQL, read each followed person's newest rows through a LATERAL join.

    `actor_id IN (followees) ORDER BY created_at LIMIT n` lets PostgreSQL join every event of
    everyone followed; measured on bench.feed, it ran 3x slower at 10x the data. A LATERAL
    join reads at most a few pages per followee from ix_feed_events_actor_created, in index
    order, and stops: (followees x page) rows whatever the size of the site. SQLite (the
    embedded mode, small data) has no LATERAL; the plain query serves it.
    """
    return db.session.get_bind().dialect.name == "postgresql"


# Per followee, this many pages of their newest events are read before the visibility
# filters (hidden, private, unlisted): enough unless one person has over two pages of hidden
# items in a row, which moderation resolves by suspending them (excluded before the read).
OVERREAD = 3


def _event_ids(viewer: User, cursor: Any, size: int) -> list[int]:
    """The ids of the page's events, newest first (ids only: the rows load in one query)."""
    shape = _cursor_shape(cursor, EVENTS)
    per_followee = _per_followee()
    statement = _kept(
        ("event_ids", per_followee, shape),
        lambda: _event_ids_statement(per_followee, shape),
    )
    params = {
        "viewer_id": viewer.id,
        "page_limit": size + 1,
        "overread_limit": OVERREAD * (size + 1),
        **_cursor_params(cursor),
    }
    return list(db.session.scalars(statement, params))


def _event_ids_statement(per_followee: bool, shape: str) -> Select[Any]:
    if per_followee:
        newest = (
            select(
                FeedEvent.id,
                FeedEvent.created_at,
                FeedEvent.pick_id,
                FeedEvent.collection_id,
                FeedEvent.product_id,
                FeedEvent.idea_id,
            )
            .where(
                FeedEvent.actor_id == Follow.followee_id,
                _after(shape, FeedEvent.created_at, FeedEvent.id),
            )
            .order_by(FeedEvent.created_at.desc(), FeedEvent.id.desc())
            .limit(bindparam("overread_limit", type_=Integer))
            .lateral("newest")
        )
        return (
            select(newest.c.id)
            .select_from(Follow)
            .join(newest, true())
            .outerjoin(Pick, Pick.id == newest.c.pick_id)
            .outerjoin(Collection, Collection.id == newest.c.collection_id)
            .outerjoin(Product, Product.id == newest.c.product_id)
            .outerjoin(Idea, Idea.id == newest.c.idea_id)
            .where(
                Follow.follower_id == bindparam("viewer_id"),
                not_suspended(Follow.followee_id),
                *_visible_event(
                    newest.c.pick_id, newest.c.collection_id, newest.c.product_id, newest.c.idea_id
                ),
            )
            .order_by(newest.c.created_at.desc(), newest.c.id.desc())
            .limit(bindparam("page_limit", type_=Integer))
        )
    return (
        select(FeedEvent.id)
        .outerjoin(Pick, Pick.id == FeedEvent.pick_id)
        .outerjoin(Collection, Collection.id == FeedEvent.collection_id)
        .outerjoin(Product, Product.id == FeedEvent.product_id)
        .outerjoin(Idea, Idea.id == FeedEvent.idea_id)
        .where(
            FeedEvent.actor_id.in_(_followees()),
            not_suspended(FeedEvent.actor_id),
            *_visible_event_conditions(shape),
        )
        .order_by(FeedEvent.created_at.desc(), FeedEvent.id.desc())
        .limit(bindparam("page_limit", type_=Integer))
    )


def _events(viewer: User, cursor: Any, size: int) -> list[FeedItem]:
    return _load_events(viewer, _event_ids(viewer, cursor, size), visible_only=False)


def _load_events(viewer: User, ids: list[int], visible_only: bool) -> list[FeedItem]:
    """The events of these ids, newest first; `visible_only`: of those the viewer may see."""
    if not ids:
        return []
    # Loaded by primary key, apart from the ranking query: joined to seven tables, the
    # ranking query's plan went wrong on PostgreSQL (hash joins over whole tables).
    as_array = _arrays()
    statement = _kept(
        ("events", visible_only, as_array), lambda: _events_statement(visible_only, as_array)
    )
    params: dict[str, Any] = {"ids": ids}
    if visible_only:
        params["viewer_id"] = viewer.id
    events = sorted(
        (
            event
            for event in db.session.scalars(statement, params).unique()
            if not visible_only or _shown(event)
        ),
        key=lambda event: (_micros(event.created_at), event.id),
        reverse=True,
    )
    return [
        FeedItem(
            kind=event.kind,
            at=event.created_at,
            actor=event.actor,
            pick=event.pick,
            collection=event.collection,
            product=event.product,
            share_link=event.share_link,
            idea=event.idea,
            poll=event.poll,
            source=EVENTS,
            row_id=event.id,
        )
        for event in events
    ]


def _arrays() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _by_ids(column: Any, as_array: bool) -> ColumnElement[bool]:
    """`column` is one of the ids bound as "ids". On PostgreSQL as one array parameter: the
    statement's text is then the same whatever the number of ids, so PostgreSQL keeps its plan
    (IN with one parameter per id made each count a new statement, planned every time: five
    times the cost of running it)."""
    condition: ColumnElement[bool]
    if as_array:
        condition = column == any_(bindparam("ids", type_=ARRAY(Integer)))
    else:
        condition = column.in_(bindparam("ids", expanding=True))
    return condition


def _events_statement(visible_only: bool, as_array: bool) -> Select[Any]:
    statement = select(FeedEvent).where(_by_ids(FeedEvent.id, as_array))
    if visible_only:
        # The rules on the actor here; those on what the event is about in _shown, on the rows
        # loaded anyway (joining Pick, Collection, Product and Idea once more to filter, the
        # plan hashed whole tables).
        statement = statement.where(
            FeedEvent.actor_id.in_(_followees()), not_suspended(FeedEvent.actor_id)
        )
    return statement.options(
        joinedload(FeedEvent.actor),
        joinedload(FeedEvent.share_link),
        joinedload(FeedEvent.pick),
        joinedload(FeedEvent.collection),
        joinedload(FeedEvent.product).joinedload(Product.shop),
        joinedload(FeedEvent.idea).joinedload(Idea.shop),
        joinedload(FeedEvent.poll).joinedload(Poll.shop),
        joinedload(FeedEvent.poll).selectinload(Poll.options),
    )


def _shown(event: FeedEvent) -> bool:
    """_visible_event on a loaded event: what it is about is not hidden, private, unlisted or
    withdrawn (a row that is not there counts as SQL's outer join would count it)."""
    pick, collection, product, idea = event.pick, event.collection, event.product, event.idea
    return (
        (pick is None or pick.hidden_at is None)
        and (
            event.collection_id is None
            or (collection is not None and collection.hidden_at is None and collection.is_public)
        )
        and (event.product_id is None or (product is not None and product.listed))
        and (event.idea_id is None or (idea is not None and idea.status != IdeaStatus.WITHDRAWN))
    )


def _shop_products(viewer: User, cursor: Any, size: int) -> list[FeedItem]:
    """New products of the shops of people followed (following a person follows their shop)."""
    shape = _cursor_shape(cursor, PRODUCTS)
    per_followee = _per_followee()
    ranking = _kept(
        ("product_ids", per_followee, shape),
        lambda: _shop_products_statement(per_followee, shape),
    )
    params = {"viewer_id": viewer.id, "page_limit": size + 1, **_cursor_params(cursor)}
    return _load_products(viewer, list(db.session.scalars(ranking, params)), visible_only=False)


def _load_products(viewer: User, ids: list[int], visible_only: bool) -> list[FeedItem]:
    """The products of these ids, newest first; `visible_only`: of those the viewer may see."""
    if not ids:
        return []
    as_array = _arrays()
    statement = _kept(
        ("products", visible_only, as_array), lambda: _products_statement(visible_only, as_array)
    )
    params: dict[str, Any] = {"ids": ids}
    if visible_only:
        params["viewer_id"] = viewer.id
    products = db.session.scalars(statement, params).unique()
    items = []
    for product in products:
        assert product.published_at is not None
        items.append(
            FeedItem(
                kind=EventKind.PRODUCT,
                at=product.published_at,
                actor=product.shop.owner,
                product=product,
                source=PRODUCTS,
                row_id=product.id,
            )
        )
    return items


def _products_statement(visible_only: bool, as_array: bool) -> Select[Any]:
    statement = select(Product).where(_by_ids(Product.id, as_array))
    if visible_only:
        statement = statement.join(Shop, Shop.id == Product.shop_id).where(
            Shop.owner_id.in_(_followees()), not_suspended(Shop.owner_id), *_visible_product()
        )
    return statement.options(joinedload(Product.shop).joinedload(Shop.owner)).order_by(
        Product.published_at.desc(), Product.id.desc()
    )


def _shop_products_statement(per_followee: bool, shape: str) -> Select[Any]:
    conditions = [*_visible_product(), _after(shape, Product.published_at, Product.id)]
    page_limit = bindparam("page_limit", type_=Integer)
    if per_followee:
        # One page per followed seller's shop, from ix_products_shop_listed (see _per_followee).
        newest = (
            select(Product.id, Product.published_at)
            .where(Product.shop_id == Shop.id, *conditions)
            .order_by(Product.published_at.desc(), Product.id.desc())
            .limit(page_limit)
            .lateral("newest_products")
        )
        return (
            select(newest.c.id)
            .select_from(Follow)
            .join(Shop, Shop.owner_id == Follow.followee_id)
            .join(newest, true())
            .where(Follow.follower_id == bindparam("viewer_id"), not_suspended(Follow.followee_id))
            .order_by(newest.c.published_at.desc(), newest.c.id.desc())
            .limit(page_limit)
        )
    return (
        select(Product.id)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Shop.owner_id.in_(_followees()), not_suspended(Shop.owner_id), *conditions)
        .order_by(Product.published_at.desc(), Product.id.desc())
        .limit(page_limit)
    )


def home_feed(viewer: User, cursor: str | None = None, size: int = PAGE_SIZE) -> FeedPage:
    size = min(max(size, 1), MAX_PAGE_SIZE)
    position = parse_cursor(cursor)
    page = _from_timeline(viewer, position, size) if timeline.enabled() else None
    return page if page is not None else _from_database(viewer, position, size)


def _from_database(viewer: User, position: Any, size: int) -> FeedPage:
    merged = _events(viewer, position, size) + _shop_products(viewer, position, size)
    return _page(merged, size)


def _page(items: list[FeedItem], size: int) -> FeedPage:
    """The first `size` items as cards, and a cursor when there are more (`items` holds at
    least one more item than the page when there is).

    The item after the page decides where the page ends: when it would join the page's last
    card, that group is left whole for the next page, unless that would leave this page less
    than half full: then the group is cut, and goes on as a card of its own on the next page.
    Either way every item is on exactly one page. Both paths come here with the same first
    `size` + 1 items, so they cut and group alike."""
    items.sort(key=_rank, reverse=True)
    if len(items) <= size:
        return FeedPage(items, None, group(items, group_window()))
    cards = group(items[: size + 1], group_window())
    last = cards.pop()  # the card that holds the item after the page
    kept = sum(card.count for card in cards)
    if last.count > 1 and kept * 2 < size:
        cards.append(FeedCard(last.items[:-1]))
    page = [item for card in cards for item in card.items]
    return FeedPage(page, page[-1].cursor, cards)


def _rank(item: FeedItem) -> tuple[int, int, int]:
    return (_micros(item.at), item.source, item.row_id)


# The timeline's members are read this many times the page (and one more), for room to skip
# what the rows say may not be shown: hidden, private, unlisted, gone, no longer followed.
TIMELINE_OVERREAD = 3


def _from_timeline(viewer: User, position: Any, size: int) -> FeedPage | None:
    """The page from the viewer's timeline in Redis, or None where the database must answer:
    the timeline is not built (it is now, for the next page), cannot vouch for the page
    (older than it keeps, or more hidden items in a row than the read had room for), or Redis
    does not answer."""
    at_or_before = None if position is None else _micros(position[0])
    try:
        window = timeline.read(viewer.id, at_or_before, TIMELINE_OVERREAD * (size + 1))
        if window is None:
            timeline.rebuild(viewer.id)
            return None
    except RedisError:
        current_app.logger.warning("the feed's timelines do not answer", exc_info=True)
        return None
    entries = window.entries
    if position is not None:  # members of the cursor's own instant shown already
        after = (_micros(position[0]), position[1], position[2])
        entries = [e for e in entries if (e.micros, e.source, e.row_id) < after]
    # The entries are in the feed's order: load the page's worth (and a few more, for what may
    # not be shown) and the rest only if that was not enough, so a page usually loads no more
    # rows than the database path's page.
    first = size + 1 + size // 4 + 2
    items = _load_entries(viewer, entries[:first])
    if len(items) <= size and len(entries) > first:
        items += _load_entries(viewer, entries[first:])
    if position is not None:
        items = [item for item in items if _rank(item) < after]
    if len(items) > size or window.complete:
        return _page(items, size)
    return None


def _load_entries(viewer: User, entries: list[timeline.Entry]) -> list[FeedItem]:
    """The items of these entries that the viewer may see (one query per source present)."""
    event_ids = [entry.row_id for entry in entries if entry.source == EVENTS]
    product_ids = [entry.row_id for entry in entries if entry.source == PRODUCTS]
    return _load_events(viewer, event_ids, visible_only=True) + _load_products(
        viewer, product_ids, visible_only=True
    )
