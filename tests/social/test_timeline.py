"""The home feed from timelines kept in Redis gives the pages the database gives.

Every test runs on a real Redis (database 15 of 127.0.0.1:6379) under a key prefix of its
own, emptied afterwards: Redis is part of every machine this suite runs on, so a Redis that
does not answer fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.models import utcnow
from app.uow import unit_of_work
from marketplace import shops as shop_services
from social import feed, follows, moderation, posts, timeline
from social import ideas as idea_services
from social.models import EventKind, FeedEvent
from tests.factories import (
    CollectionFactory,
    FollowFactory,
    IdeaFactory,
    MemberFactory,
    PickFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
)
from tests.marketplace.helpers import count_queries
from tests.social.helpers import as_user

REDIS_URL = "redis://127.0.0.1:6379/15"


def with_timelines(config: dict[str, Any]) -> dict[str, Any]:
    """Settings for the feed from Redis timelines, under a key prefix of this test's own."""
    return {
        **config,
        "REDIS_URL": REDIS_URL,
        "JOBS_INLINE": True,
        "FEED_TIMELINE_PREFIX": f"test:{uuid.uuid4().hex}:timeline:",
    }


@contextlib.contextmanager
def timeline_store(prefix: str) -> Iterator[Redis]:
    """The test's Redis (it must answer), emptied of the test's keys afterwards."""
    client = Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=2)
    try:
        client.ping()
    except RedisError:
        pytest.fail("Redis is part of every machine this suite runs on (127.0.0.1:6379)")
    try:
        yield client
    finally:
        names = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if names:
            client.delete(*names)
        client.close()


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return with_timelines(app_config)


@pytest.fixture(autouse=True)
def store(app: Any) -> Iterator[Redis]:
    with timeline_store(app.config["FEED_TIMELINE_PREFIX"]) as client:
        yield client


def described(page: feed.FeedPage) -> tuple[list[tuple[Any, ...]], str | None]:
    # kind, source, row id, actor, pick, collection, cursor
    items = [
        (
            item.kind,
            item.source,
            item.row_id,
            item.actor.id,
            item.pick.id if item.pick else None,
            item.collection.id if item.collection else None,
            item.cursor,
        )
        for item in page.items
    ]
    return items, page.next_cursor


def cards(page: feed.FeedPage) -> list[str]:
    """The cards the page's items make (grouped in one place both paths share)."""
    return [card.key for card in page.cards]


def walk(viewer: Any, size: int, *, from_timeline: bool = True) -> list[Any]:
    """Every page of the viewer's feed, each asserted the same through Redis and through the
    database; `from_timeline`: each asserted served by the timeline (not the fallback)."""
    pages = []
    cursor = None
    while True:
        position = feed.parse_cursor(cursor)
        from_database = feed._from_database(viewer, position, size)
        database = described(from_database)
        served = feed._from_timeline(viewer, position, size)
        if from_timeline:
            assert served is not None, f"the timeline did not serve the page after {cursor}"
        home = feed.home_feed(viewer, cursor, size)
        assert described(home) == database and cards(home) == cards(from_database)
        if served is not None:
            assert described(served) == database and cards(served) == cards(from_database)
        pages.append(database)
        cursor = database[1]
        if cursor is None:
            return pages


def walk_all(viewer: Any, sizes: tuple[int, ...] = (1, 2, 3, 5, 50)) -> list[Any]:
    """The feed at every page size; the same items in the same order whatever the size.

    Pages of one or two may come from the database: their read (three times the page and one
    more) has little room for what it skips, and the tests put many items in one instant."""
    everything = None
    for size in sizes:
        items = [item for page in walk(viewer, size, from_timeline=size > 2) for item in page[0]]
        if everything is None:
            everything = items
        assert items == everything
    assert everything is not None
    return everything


def member(source: int, row_id: int, actor_id: int) -> str:
    return timeline.Entry(source, row_id, actor_id, 0).member


def pick_member(pick: Any) -> str:
    event = db.session.scalar(select(FeedEvent).where(FeedEvent.pick_id == pick.id))
    assert event is not None
    return member(feed.EVENTS, event.id, pick.author_id)


def members(store: Redis, user: Any) -> dict[str, float]:
    return dict(store.zrange(timeline.key(user.id), 0, -1, withscores=True))


def kinds(items: list[Any]) -> list[str]:
    return [item[0] for item in items]


def build(viewer: Any) -> None:
    """The first read builds the timeline (that page comes from the database)."""
    feed.home_feed(viewer)
    assert timeline.read(viewer.id, None, 1) is not None


def test_the_timeline_gives_the_database_pages_through_every_kind_of_change(app, store):
    me = UserFactory()
    admin = UserFactory(is_admin=True)
    curator, friend, quiet, ideator, voter, spammer = (
        UserFactory(),
        UserFactory(),
        UserFactory(),
        MemberFactory(),
        MemberFactory(),
        UserFactory(),
    )
    stranger = UserFactory()
    shop = ShopFactory()
    seller = shop.owner
    for person in (curator, friend, quiet, ideator, voter, spammer, seller):
        FollowFactory(follower=me, followee=person)
    start = utcnow()
    with time_machine.travel(start - timedelta(hours=10), tick=False):
        old_pick = PickFactory(author=curator)
        PickFactory(author=stranger)  # not followed: never in my feed
    with time_machine.travel(start - timedelta(hours=9), tick=False):
        public = CollectionFactory(owner=curator, products=[ProductFactory(), ProductFactory()])
        private = CollectionFactory(owner=curator, is_public=False, products=[ProductFactory()])
    with time_machine.travel(start - timedelta(hours=8), tick=False):
        # One instant, three sources: two events and a product; the cursor keeps them apart.
        PickFactory(author=friend)
        PickFactory(author=quiet)
        ProductFactory(shop=shop, title="Same instant")
    with time_machine.travel(start - timedelta(hours=7), tick=False):
        ProductFactory(shop=shop, status="draft")  # never published: never in the feed
        idea = IdeaFactory(author=ideator)
    with time_machine.travel(start - timedelta(hours=6), tick=False):
        idea_services.vote(voter, idea)
        bought = ProductFactory()
        db.session.add(FeedEvent(actor_id=friend.id, kind=EventKind.PURCHASE, product_id=bought.id))
        db.session.commit()
    with time_machine.travel(start - timedelta(hours=5), tick=False):
        spam = PickFactory(author=spammer)

    # Cold: the first read builds the timeline from the database.
    assert not store.exists(timeline.key(me.id))
    build(me)
    assert store.zscore(timeline.key(me.id), timeline.BUILT) == timeline.COMPLETE
    shown = walk_all(me)
    assert set(kinds(shown)) == {
        "pick",
        "collection",
        "collection_item",
        "product",
        "idea",
        "idea_vote",
        "purchase",
    }
    assert private.id not in [item[5] for item in shown]

    # Written after the build: pushed to the timeline on commit, never read from the database.
    with time_machine.travel(start - timedelta(hours=4), tick=False):
        fresh_pick = PickFactory(author=curator)
        fresh_product = ProductFactory(shop=shop, title="Fresh")
        posts.add_item(curator, public, ProductFactory().id)
        db.session.commit()
    assert pick_member(fresh_pick) in members(store, me)
    assert member(feed.PRODUCTS, fresh_product.id, seller.id) in members(store, me)
    walk_all(me)

    # What the rows say now decides what shows: the timeline still holds the members.
    moderation.hide(admin, "pick", old_pick.id)
    posts.update_collection(curator, public, title="Now private", description="", is_public=False)
    idea_services.withdraw_idea(ideator, idea)
    moderation.suspend(admin, spammer)
    shop_services.pause_shop(seller, shop)  # one UPDATE unlists every product
    db.session.commit()
    hidden = walk_all(me)
    assert "product" not in kinds(hidden) and "idea" not in kinds(hidden)
    assert spam.id not in [item[4] for item in hidden]
    assert len(hidden) < len(shown)

    # And back: the same members show again.
    moderation.unhide(admin, "pick", old_pick.id)
    moderation.unsuspend(admin, spammer)
    shop_services.reopen_shop(seller, shop)
    db.session.commit()
    assert "product" in kinds(walk_all(me))

    # A collection item taken out (a DELETE of its event) leaves a member with no row.
    posts.remove_item(curator, public, public.items[0].product_id)
    db.session.commit()
    walk_all(me)

    # Unfollowing takes the person's members out; following brings theirs in.
    follows.unfollow(me, friend)
    db.session.commit()
    assert not [m for m in members(store, me) if m.endswith(f".{friend.id}")]
    newcomer = UserFactory()
    with time_machine.travel(start - timedelta(hours=3), tick=False):
        theirs = [PickFactory(author=newcomer) for _ in range(3)]
    assert follows.follow(me, newcomer)
    db.session.commit()
    assert {pick_member(pick) for pick in theirs} <= set(members(store, me))
    after = walk_all(me)
    assert friend.id not in [item[3] for item in after]
    assert {pick.id for pick in theirs} <= {item[4] for item in after}

    # Emptied (Redis lost its data): built again on the next read.
    store.delete(timeline.key(me.id))
    build(me)
    assert walk_all(me) == after


def test_grouped_events_give_the_same_cards_through_the_timeline(app, store):
    me, chloe, dev = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=chloe)
    FollowFactory(follower=me, followee=dev)
    shop = ShopFactory(owner=dev)
    start = utcnow() - timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        calm = CollectionFactory(owner=chloe)
    build(me)
    # Runs of 4 and 3 items, a shop's run of 3 new products between them, a pick after.
    for n in range(10):
        with time_machine.travel(start + timedelta(minutes=1 + n), tick=False):
            if 4 <= n < 7:
                ProductFactory(shop=shop)
            else:
                posts.add_item(chloe, calm, ProductFactory().id)
            db.session.commit()
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        PickFactory(author=chloe)
    everything = walk_all(me, sizes=(3, 4, 5, 50))
    assert kinds(everything) == ["pick"] + ["collection_item"] * 3 + ["product"] * 3 + [
        "collection_item"
    ] * 4 + ["collection"]
    page = feed.home_feed(me, None, 50)
    assert page.next_cursor is None
    assert [(card.kind, card.count) for card in page.cards] == [
        ("pick", 1),
        ("collection_item", 3),
        ("product", 3),
        ("collection_item", 4),
        ("collection", 1),
    ]


def test_a_rolled_back_change_never_reaches_a_timeline(app, store):
    me, curator = UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=curator)
    build(me)
    product = ProductFactory()
    posts.create_pick(curator, product.id, "gone with the rollback")
    db.session.rollback()
    savepoint = db.session.begin_nested()
    posts.create_pick(curator, product.id, "gone with the savepoint")
    savepoint.rollback()
    with db.session.begin_nested():
        kept = posts.create_pick(curator, product.id, "kept")
    db.session.commit()
    assert set(members(store, me)) == {pick_member(kept), timeline.BUILT}
    walk_all(me)


def test_a_timeline_keeps_the_newest_and_the_database_serves_what_is_older(app, store):
    app.config["FEED_TIMELINE_SIZE"] = 4
    me, curator, newcomer = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=curator)
    start = utcnow()
    for n in range(7):
        with time_machine.travel(start - timedelta(minutes=100 - n), tick=False):
            PickFactory(author=curator)
    build(me)
    key = timeline.key(me.id)
    assert store.zcard(key) == 4 + 1  # the newest four and the mark
    assert store.zscore(key, timeline.BUILT) > timeline.COMPLETE
    for n in range(3):  # pushed: the oldest are trimmed and the floor rises
        with time_machine.travel(start - timedelta(minutes=50 - n), tick=False):
            PickFactory(author=curator)
    assert store.zcard(key) == 4 + 1
    pages = walk(me, 2, from_timeline=False)
    assert sum(len(page[0]) for page in pages) == 10
    assert feed._from_timeline(me, None, 1) is not None  # the newest page is the timeline's
    assert feed._from_timeline(me, feed.parse_cursor(pages[-1][0][0][6]), 1) is None

    # Following someone with more than the timeline keeps: their newest come in, and the
    # timeline vouches only for what is newer than what was left out.
    for n in range(6):
        with time_machine.travel(start - timedelta(minutes=40 - n), tick=False):
            PickFactory(author=newcomer)
    FollowFactory(follower=me, followee=newcomer)
    assert store.zcard(key) == 4 + 1
    assert sum(len(page[0]) for page in walk(me, 3, from_timeline=False)) == 16


def test_more_hidden_items_than_the_read_has_room_for_fall_back_to_the_database(app, store):
    me, curator = UserFactory(), UserFactory()
    admin = UserFactory(is_admin=True)
    FollowFactory(follower=me, followee=curator)
    start = utcnow()
    with time_machine.travel(start - timedelta(hours=2)):
        visible = PickFactory(author=curator)
    for _ in range(5):
        moderation.hide(admin, "pick", PickFactory(author=curator).id)
    db.session.commit()
    build(me)
    # A page of one reads 3 x 2 members: five hidden and one shown, and the read stopped
    # there, so the timeline cannot tell whether a next page exists: the database answers.
    # (On PostgreSQL the database path reads 3 x 2 events per person followed too: more hidden
    # ones in a row would hide the shown one from both.)
    assert feed._from_timeline(me, None, 1) is None
    page = feed.home_feed(me, None, 1)
    assert [item.pick.id for item in page.items if item.pick] == [visible.id]
    assert walk(me, 20) == walk(me, 20, from_timeline=False)


def test_a_new_person_gets_an_empty_timeline_built_once(app, store):
    me = UserFactory()
    assert feed.home_feed(me).items == []
    assert store.zrange(timeline.key(me.id), 0, -1) == [timeline.BUILT]
    window = timeline.read(me.id, None, 10)
    assert window is not None and window.complete and window.entries == []
    assert feed._from_timeline(me, None, 20) == feed.FeedPage([], None)


def test_a_post_fans_out_in_chunks_to_built_timelines_only(app, store):
    app.config["FEED_TIMELINE_CHUNK"] = 2
    curator = UserFactory()
    fans = [UserFactory() for _ in range(5)]
    for fan in fans:
        FollowFactory(follower=fan, followee=curator)
    for fan in fans[:4]:
        build(fan)
    pick = PickFactory(author=curator)
    pushed = pick_member(pick)
    for fan in fans[:4]:
        assert pushed in members(store, fan)
        walk_all(fan, (1, 20))
    assert not store.exists(timeline.key(fans[4].id))  # not built: left for its first read


def test_when_redis_does_not_answer_the_feed_reads_the_database(app, store, caplog):
    me, curator = UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=curator)
    PickFactory(author=curator)
    build(me)
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING):
        missed = PickFactory(author=curator)  # committed; the push fails and is logged
        page = feed.home_feed(me)
    assert "could not write the feed's timelines" in caplog.text
    assert "do not answer" in caplog.text
    assert missed.id in [item.pick.id for item in page.items if item.pick]
    # Redis is back: the timeline that missed the push is built again, not served without it.
    app.config["REDIS_URL"] = REDIS_URL
    feed.home_feed(me)
    assert missed.id in [item[4] for item in walk_all(me, (1, 20))]


def test_a_feed_page_from_the_timeline_costs_two_queries_whatever_its_size(app, client):
    me = UserFactory()
    shop = ShopFactory()
    FollowFactory(follower=me, followee=shop.owner)
    curators = [UserFactory() for _ in range(4)]
    for curator in curators:
        FollowFactory(follower=me, followee=curator)
    for n in range(24):
        PickFactory(author=curators[n % 4], product=ProductFactory(shop=shop))
    build(me)

    def queries(size: int) -> int:
        with count_queries() as statements:
            page = feed.home_feed(me, None, size)
        assert len(page.items) == size
        return len(statements)

    assert queries(3) == queries(20) == 2  # the events and the products, by primary key
    as_user(client, me)
    client.get("/feed")
    with count_queries() as statements:
        assert client.get("/api/v1/feed?per_page=20").status_code == 200
    with count_queries() as fewer:
        assert client.get("/api/v1/feed?per_page=3").status_code == 200
    assert len(statements) == len(fewer)


def test_what_happens_during_a_build_is_kept_or_calls_the_build_off(app, store):
    me, curator, newcomer = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=curator)
    key, mark = timeline.key(me.id), f"{timeline.key(me.id)}:build"

    def finish_build(token: str) -> int:
        prefix = app.config["FEED_TIMELINE_PREFIX"]
        return int(
            store.eval(timeline.ADD, 0, prefix, me.id, 800, "build", timeline.COMPLETE, token, 60)
        )

    # A post committed while a build reads the database is kept for it.
    store.set(mark, "one")
    pick = PickFactory(author=curator)
    assert finish_build("one") == 1
    assert set(members(store, me)) == {pick_member(pick), timeline.BUILT}
    assert not store.exists(mark)

    # A follow (or an unfollow) while a build reads the database calls the build off: it may
    # have read the follows before the change.
    store.delete(key)
    store.set(mark, "two")
    FollowFactory(follower=me, followee=newcomer)
    assert not store.exists(mark)
    assert finish_build("two") == 0 and not store.exists(key)
    build(me)
    walk_all(me, (1, 20))

    # A build that another reader's build replaced writes nothing.
    store.delete(key)
    store.set(mark, "three")
    store.set(mark, "four")
    assert finish_build("three") == 0 and not store.exists(key)


def many_followers(
    app: Any, count: int, inline_max: int, curator: Any = None
) -> tuple[Any, list[Any]]:
    """A curator followed by `count` people, all in one instant (so a job's batches, ordered
    by when people followed, part within it); `inline_max`: the most followers a request
    fans out to itself. The job reads two followers at a time."""
    app.config["FEED_TIMELINE_INLINE_MAX"] = inline_max
    app.config["FEED_TIMELINE_BATCH"] = 2
    curator = curator or UserFactory()
    fans = [UserFactory() for _ in range(count)]
    with time_machine.travel(utcnow() - timedelta(hours=1), tick=False):
        for fan in fans:
            FollowFactory(follower=fan, followee=curator)
    return curator, fans


@contextlib.contextmanager
def queued_jobs(app: Any) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Jobs handed to the broker, kept here instead of run (as a worker would get them)."""
    queued: list[tuple[str, dict[str, Any]]] = []
    app.extensions["kindred_job_dispatcher"] = lambda name, kwargs: queued.append((name, kwargs))
    try:
        yield queued
    finally:
        del app.extensions["kindred_job_dispatcher"]


def post(curator: Any) -> Any:
    """A pick, in a unit of work of its own (as a request commits it, and then queues jobs)."""
    product: Any = ProductFactory()
    with unit_of_work():
        pick = posts.create_pick(curator, product.id, "for everyone")
    return pick


def test_a_post_by_someone_followed_by_many_fans_out_in_a_job(app, store):
    curator, fans = many_followers(app, 5, inline_max=4)
    for fan in fans[:4]:
        build(fan)
    with queued_jobs(app) as queued:
        pick = post(curator)
    pushed = pick_member(pick)
    # The request wrote to no follower's timeline: it queued the job, which has not run.
    assert [name for name, _kwargs in queued] == [timeline.FAN_OUT_JOB]
    assert not any(pushed in members(store, fan) for fan in fans)

    jobs.run(queued[0][0], **queued[0][1])
    for fan in fans[:4]:
        assert pushed in members(store, fan)
        walk_all(fan, (1, 20))
    assert not store.exists(timeline.key(fans[4].id))  # not built: left for its first read

    # Run again (a retry, a second worker): the same timelines.
    before = [members(store, fan) for fan in fans]
    jobs.run(queued[0][0], **queued[0][1])
    assert [members(store, fan) for fan in fans] == before

    # Jobs inline (the embedded mode, the tests): the job runs once the request committed.
    again = post(curator)
    for fan in fans[:4]:
        assert pick_member(again) in members(store, fan)
        walk_all(fan, (1, 20))


def test_up_to_the_threshold_a_post_fans_out_in_the_request(app, store):
    curator, fans = many_followers(app, 4, inline_max=4)
    for fan in fans:
        build(fan)
    with queued_jobs(app) as queued:
        pick = post(curator)
    assert queued == []
    for fan in fans:
        assert pick_member(pick) in members(store, fan)


def test_a_fan_out_job_beside_builds_leaves_every_timeline_right(app, store):
    app.config["FEED_TIMELINE_SIZE"] = 4
    curator = UserFactory()
    start = utcnow()
    for n in range(3):  # before anyone follows: nothing to fan out
        with time_machine.travel(start - timedelta(minutes=30 - n), tick=False):
            PickFactory(author=curator)
    curator, fans = many_followers(app, 3, inline_max=1, curator=curator)
    under_way, later, built = fans
    build(built)
    # A build that read the database before the post's commit, still under way.
    mark = f"{timeline.key(under_way.id)}:build"
    store.set(mark, "one")
    entries, floor = timeline._newest_followed(under_way.id, 4)
    with queued_jobs(app) as queued:
        pick = post(curator)
    ((name, kwargs),) = queued
    pushed = pick_member(pick)

    jobs.run(name, **kwargs)
    assert pushed in members(store, under_way)  # kept for the build under way
    prefix = app.config["FEED_TIMELINE_PREFIX"]
    pairs = timeline._pairs(entries)
    assert store.eval(timeline.ADD, 0, prefix, under_way.id, 4, "build", floor, "one", 60, *pairs)
    assert not store.exists(timeline.key(later.id))  # not built: the job left it alone
    build(later)  # after the job: reads the post from the database
    for fan in fans:
        assert pushed in members(store, fan)
        walk_all(fan, (3, 20))

    # Again (a retry, a second worker): the same timelines.
    before = [members(store, fan) for fan in fans]
    jobs.run(name, **kwargs)
    assert [members(store, fan) for fan in fans] == before

    # Again, late: newer posts have pushed it out of what the timelines keep. Put back below
    # the floor, it is trimmed again; the database serves it past the newest four.
    newer = [post(curator) for _ in range(4)]
    jobs.run(name, **kwargs)
    for fan in fans:
        assert pushed not in members(store, fan)
        assert {pick_member(p) for p in newer} < set(members(store, fan))
        pages = walk(fan, 2, from_timeline=False)
        assert pick.id in [item[4] for page in pages for item in page[0]]
        assert feed._from_timeline(fan, None, 1) is not None


def test_a_fan_out_job_redis_refuses_leaves_its_timelines_to_be_built_again(app, store):
    curator, fans = many_followers(app, 5, inline_max=1)
    for fan in fans:
        build(fan)
    with queued_jobs(app) as queued:
        pick = post(curator)
    ((name, kwargs),) = queued
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    with pytest.raises(RedisError):
        jobs.run(name, **kwargs)
    # The first batch failed; the followers after it were never written to either.
    assert {timeline.key(fan.id) for fan in fans} <= timeline._unsure
    app.config["REDIS_URL"] = REDIS_URL
    for fan in fans:
        assert pick.id in [item[4] for item in walk_all(fan, (1, 20))]
    assert not timeline._unsure
