"""Server time of the home feed on a large generated social graph, on PostgreSQL.

    .venv/bin/python -m bench.feed --scale 1
    .venv/bin/python -m bench.feed --scale 1 10

For each scale it creates a fresh PostgreSQL database `kindred_bench_feed_<scale>` (dropped
afterwards unless --keep), migrates it, and seeds per unit of scale, with COPY:

* 10,000 people; 3% are curators. Follows follow a power law: everyone follows 10 to 50
  people, most of them curators chosen by a Zipf weight, so the top curators have thousands of
  followers; the rest are friends chosen at random.
* 100,000 picks and collection items (60,000 picks, 4,000 collections of 10 products), over
  the last year. How much a person posts does not depend on the size of the site (a curator
  posts about as much on a big site as on a small one): each person's activity is drawn once
  from a log-normal distribution, curators far more active than others.
* 500 shops with 5,000 products, so following a seller brings their new products too.

It then requests, for 60 people who follow someone, the feed page, the next page (through the
"load more" cursor) and the API feed, through the Flask test client in-process (so the time
is the server's: routing, queries, templates), and prints the median and 95th percentile,
and the ratio of each scale to the first. The goal: at 10x, within 1.5x of the time at 1x.
Beside the time, the database's CPU per request: what PostgreSQL's server processes for the
benchmark's database spent (their user and system time), summed per kind of request.

With --redis, the same requests are made a second time with the feed read from timelines in
Redis (social.timeline; BENCH_FEED_REDIS_URL, database 12 by default, only the benchmark's
keys are touched), and both are printed side by side. Timelines are built by each person's
first feed (timed apart, "first feed (builds)"), as after a deployment. It also times a pick
by the most-followed curator, whose commit fans out to every follower's timeline.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.catalogue import PG_SERVER, _percentile, _pg_admin, make_app

USERS = 10_000
CURATOR_SHARE = 0.03
SHOPS = 500
PRODUCTS = 5_000
PICKS = 60_000
COLLECTIONS = 4_000
ITEMS_PER_COLLECTION = 10
SAMPLED_PEOPLE = 60
REDIS_URL = os.environ.get("BENCH_FEED_REDIS_URL", "redis://127.0.0.1:6379/12")
REDIS_PREFIX = "bench:feed:timeline:"
REQUESTS = ("feed page", "next page (cursor)", "API feed")


def database(scale: float) -> tuple[str, Any]:
    name = f"kindred_bench_feed_{str(scale).replace('.', '_')}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {name}")
    return f"{PG_SERVER}/{name}", lambda: _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _copy(connection: Any, table: str, columns: list[str], rows: Any) -> int:
    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(scale: float) -> dict[str, int]:
    """Bulk-load the graph with COPY; returns the row counts."""
    from app.extensions import db

    rng = random.Random(6)
    n_users = int(USERS * scale)
    n_curators = max(1, int(n_users * CURATOR_SHARE))
    n_shops, n_products = int(SHOPS * scale), int(PRODUCTS * scale)
    n_picks, n_collections = int(PICKS * scale), int(COLLECTIONS * scale)
    now = datetime.now(UTC)
    year = 365 * 24 * 3600

    def when() -> datetime:
        return now - timedelta(seconds=rng.random() * year)

    counts: dict[str, int] = {}
    raw = db.engine.raw_connection()
    connection = raw.driver_connection
    assert connection is not None
    try:
        # People 1..n_curators are curators; the next n_shops people are sellers.
        counts["users"] = _copy(
            connection,
            "users",
            ["id", "email", "handle", "password_hash", "display_name", "bio", "is_admin",
             "session_nonce", "created_at"],
            (
                (i, f"p{i}@bench.example", f"p{i}", "!", f"Person {i}", "", False, f"n{i}", now)
                for i in range(1, n_users + 1)
            ),
        )  # fmt: skip
        sellers = list(range(n_curators + 1, n_curators + 1 + n_shops))
        counts["shops"] = _copy(
            connection,
            "shops",
            ["id", "owner_id", "slug", "name", "description", "description_html", "return_policy",
             "return_policy_html", "shipping_flat_minor", "processing_days",
             "curator_commission_bps", "status", "created_at", "updated_at"],
            (
                (n + 1, owner, f"shop-{n}", f"Shop {n}", "", "", "", "", 500, 3, 1000, "open",
                 now, now)
                for n, owner in enumerate(sellers)
            ),
        )  # fmt: skip
        product_shop = [rng.randint(1, n_shops) for _ in range(n_products)]
        counts["products"] = _copy(
            connection,
            "products",
            ["id", "shop_id", "title", "slug", "description", "description_html", "category",
             "category_root", "tags", "condition", "status", "listed", "price_minor",
             "stock_total", "option1_name", "option2_name", "popularity", "created_at",
             "updated_at", "published_at"],
            (
                (n + 1, shop, f"Thing {n}", f"thing-{n}", "", "", "home/ceramics", "home", "",
                 "new", "active", True, 1000 + n % 5000, 5, "", "", 0, at, at, at)
                for n, shop in enumerate(product_shop)
                for at in [when()]
            ),
        )  # fmt: skip

        # Follows: Zipf over curators (rank 1 is the most followed), plus random friends.
        curator_weights = [1 / (rank**1.1) for rank in range(1, n_curators + 1)]
        curator_ids = list(range(1, n_curators + 1))
        follows: set[tuple[int, int]] = set()
        for person in range(1, n_users + 1):
            wanted = rng.randint(10, 50)
            famous = rng.choices(curator_ids, curator_weights, k=int(wanted * 0.7))
            friends = [rng.randint(1, n_users) for _ in range(wanted - len(famous))]
            for other in famous + friends:
                if other != person:
                    follows.add((person, other))
        counts["follows"] = _copy(
            connection,
            "follows",
            ["follower_id", "followee_id", "created_at"],
            ((a, b, now) for a, b in follows),
        )
        del follows

        # Activity per person, independent of the site's size.
        activity = [
            rng.lognormvariate(3.0, 1.0) if person <= n_curators else rng.lognormvariate(0, 1.0)
            for person in range(1, n_users + 1)
        ]
        people = list(range(1, n_users + 1))
        pick_authors = rng.choices(people, activity, k=n_picks)
        collection_owners = rng.choices(people, activity, k=n_collections)

        links: list[tuple[Any, ...]] = []
        picks: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for n, author in enumerate(pick_authors, start=1):
            product = rng.randint(1, n_products)
            at = when()
            links.append((n, f"bp{n}", author, "pick", n, product, 0, 0, 0, 0, at))
            picks.append((n, author, product, "Love it.", n, 0, 0, at, at))
            events.append((author, "pick", n, None, product, n, at))
        collections: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        for n, owner in enumerate(collection_owners, start=1):
            link_id = n_picks + n
            at = when()
            links.append((link_id, f"bc{n}", owner, "collection", n, None, 0, 0, 0, 0, at))
            collections.append(
                (n, owner, f"Collection {n}", "", True, link_id, ITEMS_PER_COLLECTION, 0, 0, at, at)
            )
            events.append((owner, "collection", None, n, None, link_id, at))
            for position, product in enumerate(
                rng.sample(range(1, n_products + 1), ITEMS_PER_COLLECTION)
            ):
                added = at + timedelta(seconds=rng.random() * (now - at).total_seconds())
                items.append((n, product, "", position, added))
                events.append((owner, "collection_item", None, n, product, link_id, added))
        counts["share_links"] = _copy(
            connection,
            "share_links",
            [
                "id",
                "code",
                "sharer_id",
                "target_type",
                "target_id",
                "product_id",
                "clicks",
                "add_to_carts",
                "orders",
                "sales_minor",
                "created_at",
            ],
            links,
        )
        counts["picks"] = _copy(
            connection,
            "picks",
            [
                "id",
                "author_id",
                "product_id",
                "note",
                "share_link_id",
                "like_count",
                "comment_count",
                "created_at",
                "updated_at",
            ],
            picks,
        )
        counts["collections"] = _copy(
            connection,
            "collections",
            ["id", "owner_id", "title", "description", "is_public", "share_link_id", "item_count",
             "like_count", "comment_count", "created_at", "updated_at"],
            collections,
        )  # fmt: skip
        counts["collection_items"] = _copy(
            connection,
            "collection_items",
            ["collection_id", "product_id", "note", "position", "added_at"],
            items,
        )
        counts["feed_events"] = _copy(
            connection,
            "feed_events",
            ["actor_id", "kind", "pick_id", "collection_id", "product_id", "share_link_id",
             "created_at"],
            events,
        )  # fmt: skip
        with connection.cursor() as cursor:
            for table in ("users", "shops", "products", "share_links", "picks", "collections"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.autocommit = False
    finally:
        raw.close()
    return counts


def _open_sessions(people: list[int]) -> dict[int, str]:
    """A live sign-in session on the server for each person (a session cookie that names
    none is refused): their login identities, `user.get_id()`."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.accounts.sessions import open_session
    from app.extensions import db
    from app.uow import unit_of_work

    identities: dict[int, str] = {}
    with unit_of_work():
        for user in db.session.scalars(select(User).where(User.id.in_(people))):
            open_session(user)
            identities[user.id] = user.get_id()
    return identities


def _log_in(client: Any, identity: str) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = identity
        session["_fresh"] = True


class DatabaseCpu:
    """CPU time (user + system) of the PostgreSQL server processes serving one database."""

    def __init__(self, database_name: str) -> None:
        self.database_name = database_name
        self.tick = 1000 / os.sysconf("SC_CLK_TCK")  # ms

    def sample(self) -> dict[int, float]:
        import psycopg

        from bench.catalogue import PG_SERVER

        url = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        with psycopg.connect(url, autocommit=True) as connection:
            pids = [
                row[0]
                for row in connection.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database_name,)
                )
            ]
        used = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended, or on another machine
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) * self.tick
        return used

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(ms - before.get(pid, 0.0) for pid, ms in after.items())


class Measured:
    def __init__(self) -> None:
        self.timings: dict[str, list[float]] = {name: [] for name in REQUESTS}
        self.cpu: dict[str, float] = dict.fromkeys(REQUESTS, 0.0)
        self.first: list[float] = []  # the first feed of each person (builds a timeline)
        self.fan_out: tuple[int, float] | None = None  # (followers, ms)


def measure(app: Any, rng: random.Random, cpu: DatabaseCpu, *, timelines: bool) -> Measured:
    from sqlalchemy import func, select

    from app.extensions import db
    from social.models import Follow

    with app.app_context():
        followers = list(
            db.session.scalars(
                select(Follow.follower_id).group_by(Follow.follower_id).having(func.count() >= 5)
            )
        )
        people = rng.sample(followers, SAMPLED_PEOPLE)
        identities = _open_sessions(people)
        db.session.remove()
    measured = Measured()
    client = app.test_client()

    def timed(name: str, url: str) -> str:
        before = cpu.sample()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        measured.cpu[name] += cpu.spent(before, cpu.sample())
        assert response.status_code == 200, (url, response.status_code)
        measured.timings[name].append(elapsed)
        return str(response.get_data(as_text=True))

    for person in people[:5]:  # warm caches (templates, statement cache, database pages)
        _log_in(client, identities[person])
        client.get("/feed")
        client.get("/api/v1/feed")
    for person in people:  # each person's first feed: with timelines, it builds theirs
        _log_in(client, identities[person])
        started = time.perf_counter()
        assert client.get("/feed").status_code == 200
        measured.first.append((time.perf_counter() - started) * 1000)
    if timelines:
        _check_timelines_built(app, people)
    for person in people:
        _log_in(client, identities[person])
        html = timed("feed page", "/feed")
        match = re.search(r'href="(/feed\?cursor=[^"]+)"', html)
        if match:
            timed("next page (cursor)", match.group(1).replace("&amp;", "&"))
        timed("API feed", "/api/v1/feed")
    measured.fan_out = _time_a_pick_by_the_top_curator(app)
    return measured


def _check_timelines_built(app: Any, people: list[int]) -> None:
    from social import timeline

    with app.app_context():
        for person in people:
            assert timeline.read(person, None, 1) is not None, f"no timeline for {person}"


def _time_a_pick_by_the_top_curator(app: Any) -> tuple[int, float]:
    """A pick by the most-followed person: the use case and its commit, with the fan-out."""
    from sqlalchemy import exists, func, select

    from app.accounts.models import User
    from app.extensions import db
    from app.uow import unit_of_work
    from marketplace.models import Product
    from social import posts
    from social.models import Follow, Pick

    with app.app_context():
        curator_id, followers = db.session.execute(
            select(Follow.followee_id, func.count())
            .group_by(Follow.followee_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        picked = select(Pick.id).where(Pick.author_id == curator_id, Pick.product_id == Product.id)
        product_id = db.session.scalar(
            select(Product.id).where(Product.listed, ~exists(picked)).order_by(Product.id).limit(1)
        )
        db.session.remove()
        started = time.perf_counter()
        with unit_of_work():
            curator = db.session.get(User, curator_id)
            assert curator is not None and product_id is not None
            posts.create_pick(curator, product_id, "Another favourite.")
        elapsed = (time.perf_counter() - started) * 1000
        db.session.remove()
    return int(followers), elapsed


def flush_timelines(url: str) -> None:
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=2)
    client.ping()  # a Redis that does not answer fails the run
    names = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
    for start in range(0, len(names), 1000):
        client.delete(*names[start : start + 1000])
    client.close()


def run(scales: list[float], keep: bool, redis_url: str | None) -> None:
    from flask_migrate import upgrade

    from app.extensions import db

    paths = ["database", "redis"] if redis_url else ["database"]
    results: dict[tuple[float, str], Measured] = {}
    for scale in scales:
        url, drop = database(scale)
        root = Path(tempfile.mkdtemp(prefix="kindred-bench-feed-"))
        print(f"== scale {scale:g}: seeding {url}", flush=True)
        app = make_app(url, root)
        try:
            with app.app_context():
                upgrade()
                started = time.perf_counter()
                counts = seed(scale)
                print(
                    "   "
                    + ", ".join(f"{n:,} {table}" for table, n in counts.items())
                    + f" in {time.perf_counter() - started:.1f}s",
                    flush=True,
                )
                db.session.remove()
            cpu = DatabaseCpu(url.rsplit("/", 1)[1])
            for path in paths:
                app = make_app(url, root)
                app.config["FEED_TIMELINES"] = path == "redis"
                if redis_url and path == "redis":
                    flush_timelines(redis_url)
                    app.config.update(REDIS_URL=redis_url, FEED_TIMELINE_PREFIX=REDIS_PREFIX)
                print(f"   measuring the feed from the {path}", flush=True)
                results[(scale, path)] = measure(
                    app, random.Random(7), cpu, timelines=path == "redis"
                )
                with app.app_context():
                    db.engine.dispose()
            if redis_url:
                flush_timelines(redis_url)
        finally:
            with app.app_context():
                db.engine.dispose()
            if not keep:
                drop()
    print_table(scales, paths, results)


def print_table(
    scales: list[float], paths: list[str], results: dict[tuple[float, str], Measured]
) -> None:
    base = scales[0]
    columns = [(scale, path) for scale in scales for path in paths]
    names = {"database": "db", "redis": "redis"}

    def label(scale: float, path: str) -> str:
        return f"{scale:g}x {names[path]}"

    print("\nServer time of the feed in ms on PostgreSQL (Flask test client): median / p95")
    header = f"{'request':<22}" + "".join(f"{label(*column):>16}" for column in columns)
    header += "".join(f"{f'{s:g}x/{base:g}x {names[p]}':>16}" for s in scales[1:] for p in paths)
    print(header)
    print("-" * len(header))
    for name in REQUESTS:
        line = f"{name:<22}"
        medians = {}
        for column in columns:
            samples = results[column].timings[name] or [math.nan]
            medians[column] = statistics.median(samples)
            cell = f"{medians[column]:.1f} / {_percentile(samples, 0.95):.1f}"
            line += f"{cell:>16}"
        for scale in scales[1:]:
            for path in paths:
                line += f"{medians[(scale, path)] / medians[(base, path)]:>16.2f}"
        print(line)
    first = f"{'first feed (builds)':<22}"
    for column in columns:
        samples = results[column].first or [math.nan]
        first += f"{f'{statistics.median(samples):.1f} / {_percentile(samples, 0.95):.1f}':>16}"
    print(first)

    print("\nDatabase CPU per request in ms (PostgreSQL's server processes, mean)")
    print(f"{'request':<22}" + "".join(f"{label(*column):>16}" for column in columns))
    for name in REQUESTS:
        line = f"{name:<22}"
        for column in columns:
            count = len(results[column].timings[name]) or 1
            line += f"{results[column].cpu[name] / count:>16.2f}"
        print(line)

    print("\nA pick by the most-followed curator, commit and fan-out included, in ms")
    for column in columns:
        fan_out = results[column].fan_out
        if fan_out is not None:
            print(f"{label(*column):<22}{fan_out[1]:>10.1f}   ({fan_out[0]:,} followers)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the home feed on PostgreSQL.")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--redis",
        action="store_true",
        help=f"also read the feed from Redis timelines ({REDIS_URL}), side by side",
    )
    args = parser.parse_args()
    run(args.scale, args.keep, REDIS_URL if args.redis else None)


if __name__ == "__main__":
    main()
