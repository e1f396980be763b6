"""Each person's home timeline in Redis: fanned out on write, bounded, rebuilt from the database.

When REDIS_URL is set, the home feed (social.feed) takes a page's items from a sorted set per
person, `kindred:timeline:<user_id>`, instead of ranking the feed events and shop products of
everyone they follow on every read. Its members are "<source>.<row_id>.<actor_id>" (source 1 a
feed event, 0 a shop's product, as in the feed's cursor; the id zero-padded to ten digits),
scored by the item's time in microseconds; the newest SIZE are kept. The feed loads the rows
by primary key and applies the visibility rules there, so what the set holds only decides
which rows to look at.

The database stays the source of truth, and a timeline only ever claims what it can vouch
for. The member "built" marks a timeline as made; its score is the timeline's floor: every
item of the people followed newer than the floor is in the set (-1: everything is). Trimming
to SIZE, or a follow of someone with more than SIZE items, raises the floor. Below the floor,
or when Redis is not configured or does not answer, the feed reads the database.

Writes are caught where the session writes, so no use case calls this module:

* a new feed event, or a product given its `published_at`, is pushed once the transaction
  commits (never for a rolled-back one) to every follower's timeline: one query for the
  followers, one Redis pipeline per FANOUT_CHUNK followers. A timeline that does not exist
  is left alone (it is built when its owner reads the feed). When a person has more than
  INLINE_MAX followers, their items are not pushed by the request that committed them but
  by a job (FAN_OUT_JOB, queued with app.jobs once the unit of work has committed), which
  reads the followers BATCH at a time and pushes to each batch as the request would have (as
  Mastodon does): a curator with 100,000 followers does not wait for 100,000 writes. The job
  may run twice, or beside a build: a push adds members already there or not at all, never
  raises a floor, and the script keeps what a build under way may have missed (see ADD).
* a follow adds the newest items of the person followed; an unfollow (a row deleted, one by
  one or in bulk) takes their members out.
* a timeline that does not exist (a new person, Redis emptied or added later, expired after
  TTL of not being read) is built from the database on its owner's next read.

Products are pushed when published whether listed or not: a paused shop's products are
unlisted and listed again by one UPDATE, which no listener sees, and the feed filters on
`listed` when it loads them.

Settings: FEED_TIMELINES ("off" to read the database even with Redis), FEED_TIMELINE_SIZE,
FEED_TIMELINE_TTL (seconds), FEED_TIMELINE_CHUNK, FEED_TIMELINE_INLINE_MAX (the most
followers a request fans out to itself), FEED_TIMELINE_BATCH (followers a job reads at a
time) and FEED_TIMELINE_PREFIX (the keys' prefix).
"""

from __future__ import annotations

import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError
from sqlalchemy import Integer, Select, bindparam, event, func, inspect, select, true, tuple_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session

from app import jobs
from app.database import intent, kept_statement
from app.extensions import db
from marketplace.models import Product, Shop
from social.models import FeedEvent, Follow

# The two sources of the feed; of items of the same instant, events come first.
EVENTS, PRODUCTS = 1, 0

KEY_PREFIX = "kindred:timeline:"
SIZE = 800
# A timeline not read for this long expires; its owner's next read builds it again.
TTL_SECONDS = 14 * 24 * 3600
# How long a build may take before another reader may start one.
BUILD_SECONDS = 30
# Followers written per Redis round trip when an item fans out.
FANOUT_CHUNK = 500
# A person with more followers than this has their items fanned out by a job, not by the
# request that committed them.
FANOUT_INLINE_MAX = 1_000
# Followers a fan-out job reads (and writes, in one round trip) at a time.
FANOUT_BATCH = 5_000
FAN_OUT_JOB = "social.timeline_fan_out"

BUILT = "built"
ID_DIGITS = 10  # an INTEGER id has at most ten
COMPLETE = -1  # the floor of a timeline that holds everything: no item is that old

# After a failed write, the timelines it should have reached are dropped when Redis answers
# again (in this process): they are built afresh rather than served without the item.
UNSURE_MAX = 100_000
_unsure: set[str] = set()
_unsure_lock = threading.Lock()


def micros(at: datetime) -> int:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1_000_000)


@dataclass(frozen=True)
class Entry:
    source: int
    row_id: int
    actor_id: int
    micros: int

    @property
    def member(self) -> str:
        # The id zero-padded: Redis orders members of one score by their text, which is then
        # the feed's order (source, then id), so a read cut off mid-instant skips nothing.
        return f"{self.source}.{self.row_id:0{ID_DIGITS}d}.{self.actor_id}"

    @classmethod
    def parse(cls, member: str, score: float) -> Entry | None:
        try:
            source, row_id, actor_id = (int(part) for part in member.split("."))
        except ValueError:
            return None
        return cls(source, row_id, actor_id, int(score))


@dataclass
class Window:
    """What a timeline holds at or below a time, newest first, as far as it vouches for it."""

    entries: list[Entry]
    # Nothing older than these entries is missing: the feed ends with them.
    complete: bool


# --- configuration and the client -------------------------------------------------------------


def _setting(app: Flask, name: str, default: Any) -> Any:
    return app.config.get(f"FEED_TIMELINE_{name}", default)


def enabled(app: Flask | None = None) -> bool:
    """Whether the feed keeps timelines in Redis: REDIS_URL set, and FEED_TIMELINES not off."""
    app = app or current_app
    switch = app.config.get("FEED_TIMELINES", True)
    if isinstance(switch, str):
        switch = switch.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(app.config.get("REDIS_URL")) and bool(switch)


def _client(app: Flask) -> Redis:
    url = str(app.config["REDIS_URL"])
    kept = app.extensions.get("social_timelines")
    if kept is None or kept[0] != url:
        # Short timeouts: Redis down must cost a page little before it reads the database.
        client = Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=2.0, decode_responses=True
        )
        kept = (url, client, {})
        app.extensions["social_timelines"] = kept
    return cast(Redis, kept[1])


def _script(app: Flask, source: str) -> Script:
    client = _client(app)
    scripts: dict[str, Script] = app.extensions["social_timelines"][2]
    if source not in scripts:
        scripts[source] = client.register_script(source)
    return scripts[source]


def _prefix(app: Flask) -> str:
    return str(_setting(app, "PREFIX", KEY_PREFIX))


def key(user_id: int, app: Flask | None = None) -> str:
    return f"{_prefix(app or current_app)}{user_id}"


def _build_key(user_id: int, app: Flask) -> str:
    return f"{key(user_id, app)}:build"


def _size(app: Flask) -> int:
    return int(_setting(app, "SIZE", SIZE))


def _ttl(app: Flask) -> int:
    return int(_setting(app, "TTL", TTL_SECONDS))


def _inline_max(app: Flask) -> int:
    return max(0, int(_setting(app, "INLINE_MAX", FANOUT_INLINE_MAX)))


# --- the scripts: each change to a timeline is one atomic step in Redis --------------------------

# The scripts name the timelines they write by the people's ids, all in one argument (a
# curator's post goes to thousands: sending each timeline's keys cost more than writing them),
# so they run on one Redis, not a cluster.
#
# ADD. ARGV: key prefix, people's ids ("12,40,..."), size, mode, floor, build token, ttl, then
# score/member pairs added to each timeline. Modes:
#   push   a new item: added to a built timeline (or one being built), trimmed to size;
#   follow the newest items of someone just followed, `floor` the time below which they may
#          have more: added to a built timeline and the floor raised to it; a build under way
#          may have read the follows before this one, so it is called off;
#   build  the newest items of everyone followed, read from the database: written if this
#          build is still the one under way (its token), with `floor` as the floor.
# Returns how many timelines it wrote.
ADD = """
local prefix, people = ARGV[1], ARGV[2]
local size, mode, given, token = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), ARGV[6]
local ttl = tonumber(ARGV[7])
local function add(timeline)
  for i = 8, #ARGV, 1000 do
    redis.call('ZADD', timeline, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
end
local written = 0
for person in string.gmatch(people, '%d+') do
  local timeline = prefix .. person
  local building = timeline .. ':build'
  local floor = redis.call('ZSCORE', timeline, 'built')
  local go = true
  if mode == 'build' then
    if redis.call('GET', building) ~= token then
      go = false
    else
      redis.call('DEL', building)
      if floor and tonumber(floor) < given then floor = tonumber(floor) else floor = given end
    end
  elseif not floor then
    go = false
    if redis.call('EXISTS', building) == 1 then
      if mode == 'follow' then
        redis.call('DEL', building)
      else
        -- a build is under way and may have read the database before this item's commit
        add(timeline)
        redis.call('EXPIRE', timeline, ttl)
      end
    end
  else
    floor = tonumber(floor)
    if mode == 'follow' and given > floor then floor = given end
  end
  if go then
    redis.call('ZREM', timeline, 'built')
    add(timeline)
    local count = redis.call('ZCARD', timeline)
    if count > size then
      local cut = redis.call('ZRANGE', timeline, 0, count - size - 1, 'WITHSCORES')
      redis.call('ZREMRANGEBYRANK', timeline, 0, count - size - 1)
      local top = tonumber(cut[#cut])
      if top > floor then floor = top end
    end
    redis.call('ZADD', timeline, floor, 'built')
    if mode == 'build' then redis.call('EXPIRE', timeline, ttl) end
    written = written + 1
  end
end
return written
"""

# REMOVE_ACTOR. ARGV: key prefix, people's ids, ".<actor_id>". Takes an unfollowed person's
# members out (a timeline is bounded); calls off a build under way, which may have read the
# follow.
REMOVE_ACTOR = """
local prefix, people, suffix = ARGV[1], ARGV[2], ARGV[3]
local gone = 0
for person in string.gmatch(people, '%d+') do
  local timeline = prefix .. person
  if redis.call('ZSCORE', timeline, 'built') then
    for _, member in ipairs(redis.call('ZRANGE', timeline, 0, -1)) do
      if string.sub(member, -#suffix) == suffix then
        gone = gone + redis.call('ZREM', timeline, member)
      end
    end
  else
    redis.call('DEL', timeline .. ':build')
  end
end
return gone
"""


def _pairs(entries: Iterable[Entry]) -> list[Any]:
    flat: list[Any] = []
    for entry in entries:
        flat.extend((entry.micros, entry.member))
    return flat


# --- reading ---------------------------------------------------------------------------------


def read(user_id: int, at_or_before: int | None, count: int) -> Window | None:
    """Up to `count` members at or below `at_or_before` (microseconds; None: the newest), or
    None when the timeline is not built. Reading keeps the timeline from expiring."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    client = _client(app)
    _forget_unsure(client)
    name = key(user_id, app)
    pipe = client.pipeline(transaction=True)
    pipe.zscore(name, BUILT)
    top: Any = "+inf" if at_or_before is None else at_or_before
    pipe.zrange(name, top, "-inf", desc=True, byscore=True, offset=0, num=count, withscores=True)
    pipe.expire(name, _ttl(app))
    floor_score, rows, _expiring = pipe.execute()
    if floor_score is None:
        return None
    floor = float(floor_score)
    # Redis returned the members in the feed's order (see Entry.member): whatever it left out
    # comes after them. What is not above the floor may have company that was trimmed.
    entries = []
    for member, score in rows:
        if score > floor:
            entry = Entry.parse(member, score)
            if entry is not None:
                entries.append(entry)
    read_all = len(rows) < count or (bool(rows) and rows[-1][0] == BUILT)
    return Window(entries, complete=read_all and floor <= COMPLETE)


def rebuild(user_id: int) -> bool:
    """Build a timeline from the database (its owner's first read). Returns whether it did:
    not when another build is under way, or when a follow or unfollow called this one off."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    client = _client(app)
    token = secrets.token_hex(8)
    if not client.set(_build_key(user_id, app), token, nx=True, ex=BUILD_SECONDS):
        return False
    size = _size(app)
    entries, floor = _newest_followed(user_id, size)
    added = _script(app, ADD)(
        args=[_prefix(app), user_id, size, "build", floor, token, _ttl(app), *_pairs(entries)]
    )
    return bool(added)


def _per_followee() -> bool:
    """On PostgreSQL, each followed person's newest rows through a LATERAL join (as the feed)."""
    return db.session.get_bind().dialect.name == "postgresql"


def _newest_followed(user_id: int, size: int) -> tuple[list[Entry], int]:
    """The newest size + 1 events and products of the people followed, whatever their
    visibility (the feed filters when it loads them), and the floor they vouch for."""
    per_followee = _per_followee()
    params = {"viewer_id": user_id, "limit": size + 1}
    events = db.session.execute(
        kept_statement(
            ("social.timeline", "events", per_followee),
            lambda: _newest_events_statement(per_followee),
        ),
        params,
    ).all()
    products = db.session.execute(
        kept_statement(
            ("social.timeline", "products", per_followee),
            lambda: _newest_products_statement(per_followee),
        ),
        params,
    ).all()
    entries = [Entry(EVENTS, row_id, actor, micros(at)) for row_id, actor, at in events]
    entries += [Entry(PRODUCTS, row_id, actor, micros(at)) for row_id, actor, at in products]
    return entries, _floor_of(
        size, [micros(row[2]) for row in events], [micros(row[2]) for row in products]
    )


def _floor_of(size: int, *newest_first: Sequence[int]) -> int:
    """Each list, the newest size + 1 times of one source: when one is full, what is older
    than its last may be missing, so the timeline vouches only for what is newer."""
    floor = COMPLETE
    for times in newest_first:
        if len(times) > size:
            floor = max(floor, times[-1])
    return floor


def _newest_events_statement(per_followee: bool) -> Select[int, int, datetime]:
    limit = bindparam("limit", type_=Integer)
    if per_followee:
        newest = (
            select(FeedEvent.id, FeedEvent.actor_id, FeedEvent.created_at)
            .where(FeedEvent.actor_id == Follow.followee_id)
            .order_by(FeedEvent.created_at.desc(), FeedEvent.id.desc())
            .limit(limit)
            .lateral("newest")
        )
        return (
            select(newest.c.id, newest.c.actor_id, newest.c.created_at)
            .select_from(Follow)
            .join(newest, true())
            .where(Follow.follower_id == bindparam("viewer_id"))
            .order_by(newest.c.created_at.desc(), newest.c.id.desc())
            .limit(limit)
        )
    followees = select(Follow.followee_id).where(Follow.follower_id == bindparam("viewer_id"))
    return (
        select(FeedEvent.id, FeedEvent.actor_id, FeedEvent.created_at)
        .where(FeedEvent.actor_id.in_(followees))
        .order_by(FeedEvent.created_at.desc(), FeedEvent.id.desc())
        .limit(limit)
    )


def _newest_products_statement(per_followee: bool) -> Select[int, int, datetime | None]:
    limit = bindparam("limit", type_=Integer)
    if per_followee:
        newest = (
            select(Product.id, Product.published_at)
            .where(Product.shop_id == Shop.id, Product.published_at.is_not(None))
            .order_by(Product.published_at.desc(), Product.id.desc())
            .limit(limit)
            .lateral("newest_products")
        )
        return (
            select(newest.c.id, Shop.owner_id, newest.c.published_at)
            .select_from(Follow)
            .join(Shop, Shop.owner_id == Follow.followee_id)
            .join(newest, true())
            .where(Follow.follower_id == bindparam("viewer_id"))
            .order_by(newest.c.published_at.desc(), newest.c.id.desc())
            .limit(limit)
        )
    followees = select(Follow.followee_id).where(Follow.follower_id == bindparam("viewer_id"))
    return (
        select(Product.id, Shop.owner_id, Product.published_at)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Shop.owner_id.in_(followees), Product.published_at.is_not(None))
        .order_by(Product.published_at.desc(), Product.id.desc())
        .limit(limit)
    )


# --- what a transaction changed ----------------------------------------------------------------


@dataclass(frozen=True)
class _Push:
    """A new item: a feed event (its actor known) or a published product (its shop)."""

    source: int
    row_id: int
    micros: int
    actor_id: int | None = None
    shop_id: int | None = None


@dataclass(frozen=True)
class _FollowChange:
    follower_id: int
    followee_id: int
    following: bool


_Change = _Push | _FollowChange
PENDING = "social_timeline_changes"


def _collecting() -> bool:
    return has_app_context() and enabled(current_app)


def _note(session: Session, changes: list[_Change]) -> None:
    if not changes:
        return
    # Kept with the (innermost) transaction they were made in: a savepoint rolled back
    # takes its own changes with it.
    transaction = session.get_nested_transaction() or session.get_transaction()
    pending: list[tuple[Any, _Change]] = session.info.setdefault(PENDING, [])
    pending.extend((transaction, change) for change in changes)


def _after_flush(session: Session, _context: Any) -> None:
    if not _collecting():
        return
    changes: list[_Change] = []
    for obj in session.new:
        if isinstance(obj, FeedEvent):
            changes.append(_Push(EVENTS, obj.id, micros(obj.created_at), actor_id=obj.actor_id))
        elif isinstance(obj, Product) and obj.published_at is not None:
            changes.append(_Push(PRODUCTS, obj.id, micros(obj.published_at), shop_id=obj.shop_id))
        elif isinstance(obj, Follow):
            changes.append(_FollowChange(obj.follower_id, obj.followee_id, True))
    for obj in session.dirty:
        if isinstance(obj, Product):
            # The history as flushed, without loading anything: set now, and not to None.
            published = [at for at in inspect(obj).attrs.published_at.history.added if at]
            if published:
                changes.append(_Push(PRODUCTS, obj.id, micros(published[-1]), shop_id=obj.shop_id))
    for obj in session.deleted:
        if isinstance(obj, Follow):
            changes.append(_FollowChange(obj.follower_id, obj.followee_id, False))
    _note(session, changes)


def _before_bulk_delete(state: ORMExecuteState) -> None:
    """An unfollow is a DELETE statement (no object): read which follows it takes first."""
    if not state.is_delete or state.bind_mapper is not Follow.__mapper__ or not _collecting():
        return
    statement: Any = state.statement
    query = select(Follow.follower_id, Follow.followee_id)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    pairs = state.session.execute(query).all()
    _note(state.session, [_FollowChange(a, b, False) for a, b in pairs])


def _after_soft_rollback(session: Session, previous: Any) -> None:
    pending: list[tuple[Any, _Change]] | None = session.info.get(PENDING)
    if not pending:
        return
    if not previous.nested:
        session.info.pop(PENDING, None)
        return

    def inside(transaction: Any) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    pending[:] = [(t, change) for t, change in pending if not inside(t)]


def _after_transaction_end(session: Session, transaction: Any) -> None:
    # The outermost transaction ended: what was not committed is gone.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(PENDING, None)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its changes wait for the transaction's own commit
    pending: list[tuple[Any, _Change]] | None = session.info.pop(PENDING, None)
    if not pending or not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        apply(app, engine, [change for _t, change in pending])
    except Exception:
        # Committed is committed: the feed reads the database where a timeline is unsure.
        app.logger.exception("could not write the feed's timelines")


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _before_bulk_delete)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        event.listen(Session, "after_commit", _after_commit)
    jobs.register(app, FAN_OUT_JOB, fan_out_job)


# --- writing, after the commit ------------------------------------------------------------------


def apply(app: Flask, engine: Engine, changes: Sequence[_Change]) -> None:
    """Write committed changes to the timelines (reading what they need from the database on
    a connection of its own: the session's transaction has ended)."""
    pushes = [change for change in changes if isinstance(change, _Push)]
    follows: dict[tuple[int, int], bool] = {}
    for change in changes:
        if isinstance(change, _FollowChange):  # the last word on each pair counts
            follows[(change.follower_id, change.followee_id)] = change.following
    if not pushes and not follows:
        return
    client = _client(app)
    with intent(False), engine.connect() as connection:
        if pushes:
            _fan_out(app, client, connection, pushes)
        if follows:
            _follow_changes(app, client, connection, follows)


def _fan_out(app: Flask, client: Redis, connection: Connection, pushes: list[_Push]) -> None:
    shop_ids = {push.shop_id for push in pushes if push.actor_id is None and push.shop_id}
    owners: dict[int, int] = {}
    if shop_ids:
        rows = connection.execute(select(Shop.id, Shop.owner_id).where(Shop.id.in_(shop_ids)))
        owners = {shop: owner for shop, owner in rows}
    by_actor: dict[int, list[Entry]] = defaultdict(list)
    for push in pushes:
        actor = push.actor_id if push.actor_id is not None else owners.get(push.shop_id or 0)
        if actor is not None:
            by_actor[actor].append(Entry(push.source, push.row_id, actor, push.micros))
    if not by_actor:
        return
    # A person followed by more than INLINE_MAX: their items go to a job (queued first: it
    # leaves only once the unit of work's commit is done, whatever happens below).
    inline_max = _inline_max(app)
    # Followers who get the same items (all of them, for one person's post) share each call.
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    if len(by_actor) == 1:
        (actor,) = by_actor
        followers = list(
            connection.scalars(
                select(Follow.follower_id).where(Follow.followee_id == actor).limit(inline_max + 1)
            ).all()
        )
        if len(followers) > inline_max:
            _queue_fan_out(actor, by_actor.pop(actor))
        else:
            groups[(actor,)] = followers
    else:
        counts = connection.execute(
            select(Follow.followee_id, func.count())
            .where(Follow.followee_id.in_(by_actor))
            .group_by(Follow.followee_id)
        )
        for actor, count in counts:
            if count > inline_max:
                _queue_fan_out(actor, by_actor.pop(actor))
        followed_by: dict[int, list[int]] = defaultdict(list)
        if by_actor:
            for follower, followee in connection.execute(
                select(Follow.follower_id, Follow.followee_id).where(
                    Follow.followee_id.in_(by_actor)
                )
            ):
                followed_by[follower].append(followee)
        for follower, followees in followed_by.items():
            groups[tuple(sorted(followees))].append(follower)
    size, ttl = _size(app), _ttl(app)
    _run(
        app,
        client,
        [
            (
                ADD,
                followers,
                [size, "push", COMPLETE, "", ttl, *_pairs(e for a in actors for e in by_actor[a])],
            )
            for actors, followers in groups.items()
        ],
    )


def _queue_fan_out(actor_id: int, entries: list[Entry]) -> None:
    """Queue the job that pushes `entries` to everyone following `actor_id`. It leaves with
    the after-commit callbacks of the unit of work whose commit got here, right after that
    commit (every commit of the app's goes through one); a bare `db.session.commit()` (a
    test's factory) leaves it for the next unit of work of its app context."""
    items = [[entry.source, entry.row_id, entry.micros] for entry in entries]
    jobs.enqueue(FAN_OUT_JOB, actor_id=actor_id, items=items)


def fan_out_job(actor_id: int, items: list[list[int]]) -> None:
    """Push one person's committed items (source, row id, microseconds) to the timelines of
    everyone following them, BATCH followers at a time, in the order they followed.

    Run twice, it writes the same members again: a push adds what is there already, or
    nothing to a timeline that is not built. Beside a build it is as the request's own push:
    a build under way keeps the item, a build that starts later reads it from the database.
    A batch Redis refused leaves its timelines, and those of the followers after it, to be
    dropped once Redis answers (the feed then builds them afresh)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not enabled(app) or not items:
        return
    entries = [Entry(int(source), int(row_id), actor_id, int(at)) for source, row_id, at in items]
    args = [_size(app), "push", COMPLETE, "", _ttl(app), *_pairs(entries)]
    batch = max(1, int(_setting(app, "BATCH", FANOUT_BATCH)))
    client = _client(app)
    after: tuple[datetime, int] | None = None
    with intent(False), db.engine.connect() as connection:
        while True:
            followers, after = _followers_after(connection, actor_id, after, batch)
            if not followers:
                return
            try:
                _run(app, client, [(ADD, followers, args)])
            except RedisError:
                rest: list[int] = []
                while after is not None and len(rest) < UNSURE_MAX:
                    more, after = _followers_after(connection, actor_id, after, batch)
                    rest += more
                    if len(more) < batch:
                        break
                _note_unsure(key(follower, app) for follower in rest)
                raise
            if len(followers) < batch:
                return


def _followers_after(
    connection: Connection, actor_id: int, after: tuple[datetime, int] | None, count: int
) -> tuple[list[int], tuple[datetime, int] | None]:
    """The next `count` followers in the order they followed (ix_follows_followee), after
    `after` (a follow's time and follower), each read in a short transaction of its own."""
    query = select(Follow.follower_id, Follow.created_at).where(Follow.followee_id == actor_id)
    if after is not None:
        query = query.where(tuple_(Follow.created_at, Follow.follower_id) > after)
    query = query.order_by(Follow.created_at, Follow.follower_id).limit(count)
    with connection.begin():
        rows = connection.execute(query).all()
    if not rows:
        return [], after
    return [follower for follower, _at in rows], (rows[-1][1], rows[-1][0])


Call = tuple[str, list[int], list[Any]]  # a script, the people whose timelines, its ARGV


def _run(app: Flask, client: Redis, calls: Sequence[Call], forget: Sequence[int] = ()) -> None:
    """Run each script over its people's timelines, FANOUT_CHUNK timelines a call (a curator
    may have thousands of followers; each call holds Redis while it runs), in one round trip;
    `forget`: timelines dropped, to be built afresh. When Redis fails, the timelines it may
    have left behind are dropped once it answers again."""
    if not calls and not forget:
        return
    _forget_unsure(client)
    prefix = _prefix(app)
    chunk = max(1, int(_setting(app, "CHUNK", FANOUT_CHUNK)))
    pipe = client.pipeline(transaction=False)
    for user_id in forget:
        pipe.delete(f"{prefix}{user_id}", f"{prefix}{user_id}:build")
    for source, user_ids, args in calls:
        script = _script(app, source)
        for start in range(0, len(user_ids), chunk):
            people = ",".join(map(str, user_ids[start : start + chunk]))
            script(args=[prefix, people, *args], client=pipe)
    try:
        pipe.execute()
    except RedisError:
        touched = [
            *forget,
            *(user_id for _source, user_ids, _args in calls for user_id in user_ids),
        ]
        _note_unsure(f"{prefix}{user_id}" for user_id in touched)
        raise


def _follow_changes(
    app: Flask, client: Redis, connection: Connection, follows: dict[tuple[int, int], bool]
) -> None:
    calls: list[Call] = []
    unfollowed: dict[int, list[int]] = defaultdict(list)
    for (follower, followee), following in follows.items():
        if not following:
            unfollowed[followee].append(follower)
    calls += [(REMOVE_ACTOR, people, [f".{actor}"]) for actor, people in unfollowed.items()]
    new = [pair for pair, following in follows.items() if following]
    forget: list[int] = []
    if new:
        # Only built timelines get the newest items of the person followed (read from the
        # database); the others are built when read.
        pipe = client.pipeline(transaction=False)
        for follower, _followee in new:
            pipe.zscore(key(follower, app), BUILT)
        built: dict[int, list[int]] = defaultdict(list)
        for (follower, followee), floor in zip(new, pipe.execute(), strict=True):
            if floor is not None:
                built[followee].append(follower)
            else:
                # Not built a moment ago: whatever is there now (a build that read the follows
                # before this one) is dropped, and built afresh when read.
                forget.append(follower)
        size, ttl = _size(app), _ttl(app)
        for followee, people in built.items():
            entries, floor = _newest_of(connection, followee, size)
            calls.append((ADD, people, [size, "follow", floor, "", ttl, *_pairs(entries)]))
    _run(app, client, calls, forget)


def _newest_of(connection: Connection, user_id: int, size: int) -> tuple[list[Entry], int]:
    """One person's newest size + 1 events and products, and the floor they vouch for."""
    limit = size + 1
    events = connection.execute(
        select(FeedEvent.id, FeedEvent.created_at)
        .where(FeedEvent.actor_id == user_id)
        .order_by(FeedEvent.created_at.desc(), FeedEvent.id.desc())
        .limit(limit)
    ).all()
    products = connection.execute(
        select(Product.id, Product.published_at)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Shop.owner_id == user_id, Product.published_at.is_not(None))
        .order_by(Product.published_at.desc(), Product.id.desc())
        .limit(limit)
    ).all()
    entries = [Entry(EVENTS, row_id, user_id, micros(at)) for row_id, at in events]
    entries += [Entry(PRODUCTS, row_id, user_id, micros(at)) for row_id, at in products if at]
    event_times = [entry.micros for entry in entries if entry.source == EVENTS]
    product_times = [entry.micros for entry in entries if entry.source == PRODUCTS]
    return entries, _floor_of(size, event_times, product_times)


# --- timelines a failed write left unsure ------------------------------------------------------


def _note_unsure(keys: Iterable[str]) -> None:
    with _unsure_lock:
        for name in keys:
            if len(_unsure) >= UNSURE_MAX:
                break
            _unsure.add(name)


def _forget_unsure(client: Redis) -> None:
    """Drop the timelines a failed write should have reached, now that Redis answers."""
    if not _unsure:
        return
    with _unsure_lock:
        names = list(_unsure)
    for start in range(0, len(names), 1000):
        client.delete(*names[start : start + 1000])
    with _unsure_lock:
        _unsure.difference_update(names)
