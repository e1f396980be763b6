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
"""

from __future__ import annotations

import argparse
import math
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


def measure(app: Any, rng: random.Random) -> dict[str, list[float]]:
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
    timings: dict[str, list[float]] = {"feed page": [], "next page (cursor)": [], "API feed": []}
    client = app.test_client()

    def timed(name: str, url: str) -> str:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        timings[name].append(elapsed)
        return response.get_data(as_text=True)

    for person in people[:5]:  # warm caches (templates, statement cache, database pages)
        _log_in(client, identities[person])
        client.get("/feed")
        client.get("/api/v1/feed")
    for person in people:
        _log_in(client, identities[person])
        html = timed("feed page", "/feed")
        match = re.search(r'href="(/feed\?cursor=[^"]+)"', html)
        if match:
            timed("next page (cursor)", match.group(1).replace("&amp;", "&"))
        timed("API feed", "/api/v1/feed")
    return timings


def run(scales: list[float], keep: bool) -> None:
    from flask_migrate import upgrade

    from app.extensions import db

    results: dict[float, dict[str, list[float]]] = {}
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
            results[scale] = measure(app, random.Random(7))
        finally:
            with app.app_context():
                db.engine.dispose()
            if not keep:
                drop()
    print_table(scales, results)


def print_table(scales: list[float], results: dict[float, dict[str, list[float]]]) -> None:
    base = scales[0]
    header = f"{'request':<22}" + "".join(
        f"{f'{s:g}x median':>12}{f'{s:g}x p95':>10}" for s in scales
    )
    header += "".join(f"{f'{s:g}x/{base:g}x':>10}" for s in scales[1:])
    print("\nServer time of the feed in ms on PostgreSQL (Flask test client)")
    print(header)
    print("-" * len(header))
    for name in results[base]:
        line = f"{name:<22}"
        medians = {}
        for scale in scales:
            samples = results[scale][name] or [math.nan]
            medians[scale] = statistics.median(samples)
            line += f"{medians[scale]:>12.1f}{_percentile(samples, 0.95):>10.1f}"
        for scale in scales[1:]:
            line += f"{medians[scale] / medians[base]:>10.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the home feed on PostgreSQL.")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    run(args.scale, args.keep)


if __name__ == "__main__":
    main()
