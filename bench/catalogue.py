"""Server time of the catalogue's busiest pages on a large generated catalogue.

    .venv/bin/python -m bench.catalogue --scale 1 10 --db sqlite
    .venv/bin/python -m bench.catalogue --scale 1 10 --db postgresql

For each scale it builds a fresh database (a temporary SQLite file, or a PostgreSQL database
`kindred_bench_<scale>` it creates and drops), migrates it and seeds it with bench.seed. Then
it requests each page through the Flask test client in-process (so the time is the server's:
routing, queries, templates), taking turns between the scales request by request, so that
whatever else the machine is doing weighs on every scale alike; and prints the median and
95th percentile per page, and the ratio of each scale's median to the first's. The goal: at
10x the data, within 1.5x of the time at 1x.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
# The PostgreSQL databases are named <prefix>_<scale>.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "kindred_bench")


def make_app(database_url: str, root: Path | None = None) -> Flask:
    from app import create_app

    root = root or Path(tempfile.mkdtemp(prefix="kindred-bench-"))
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(root / "instance"),
            "UPLOAD_DIR": str(root / "uploads"),
            "OUTBOX_DIR": str(root / "outbox"),
            "SECRET_KEY": "bench",
            "SERVER_NAME": "kindred.bench",
            "RATELIMIT_STORAGE_URI": "memory://",
            # What a page costs to build, so never from the page cache.
            "PAGE_CACHE": "off",
        }
    )


def _pg_admin(sql: str) -> None:
    import psycopg

    url = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def database_for(db_kind: str, scale: float, root: Path) -> tuple[str, Any]:
    """A fresh, empty database URL and a function that drops it afterwards."""
    if db_kind == "sqlite":
        path = root / f"bench-{scale:g}.sqlite3"
        return f"sqlite:///{path}", lambda: None
    name = f"{DB_PREFIX}_{str(scale).replace('.', '_')}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {name}")
    return f"{PG_SERVER}/{name}", lambda: _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


SEARCHES = [
    "q=linen+mug",
    "q=vintage+denim+jacket",
    "q=wool",  # a common word: thousands of matches at 1x
    "q=stone&sort=price_asc",
    "q=glazed+bowl&in_stock=y&category=home",
]


def pages(app: Flask, rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each page measured, as a function giving the next URL to request."""
    from app.extensions import db
    from marketplace.models import Product, Shop

    with app.app_context():
        shop_slugs = list(
            db.session.scalars(
                select(Shop.slug).where(Shop.status == "open").order_by(Shop.id).limit(200)
            )
        )
        product_ids = list(
            db.session.scalars(
                select(Product.id).where(Product.listed.is_(True)).order_by(Product.id).limit(500)
            )
        )
        db.session.remove()
    return {
        "home": lambda: "/",
        "shop page": lambda: f"/shops/{rng.choice(shop_slugs)}",
        "product page": lambda: f"/products/{rng.choice(product_ids)}",
        "category page": lambda: "/categories/clothing",
        "search (two words)": lambda: "/search?q=linen+mug",
        "search (common word)": lambda: "/search?q=wool",
        "search (mixed)": lambda: f"/search?{rng.choice(SEARCHES)}",
        "API search": lambda: f"/api/v1/search?{rng.choice(SEARCHES)}",
    }


def measure(apps: dict[float, Flask], requests: int) -> dict[float, dict[str, list[float]]]:
    """Time `requests` requests of each page at each scale, the scales taking turns."""
    urls = {scale: pages(app, random.Random(7)) for scale, app in apps.items()}
    clients = {scale: app.test_client() for scale, app in apps.items()}
    timings: dict[float, dict[str, list[float]]] = {scale: {} for scale in apps}
    for name in urls[next(iter(apps))]:
        for scale in apps:
            for _ in range(3):  # warm caches (templates, statement cache, database pages)
                clients[scale].get(urls[scale][name]())
            timings[scale][name] = []
        for _ in range(requests):
            for scale in apps:
                target = urls[scale][name]()
                started = time.perf_counter()
                response = clients[scale].get(target)
                timings[scale][name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (target, response.status_code)
    return timings


def run(scales: list[float], db_kind: str, requests: int, keep: bool) -> None:
    from flask_migrate import upgrade

    from app.extensions import db
    from bench.seed import seed

    apps: dict[float, Flask] = {}
    cleanups: list[Callable[[], None]] = []
    try:
        for scale in scales:
            root = Path(tempfile.mkdtemp(prefix="kindred-bench-"))
            url, drop = database_for(db_kind, scale, root)
            print(f"== {db_kind}, scale {scale:g}: seeding {url}", flush=True)
            app = make_app(url, root)
            apps[scale] = app
            cleanups.append(lambda app=app, drop=drop, root=root: _clean(app, drop, root, keep))
            with app.app_context():
                upgrade()
                started = time.perf_counter()
                counts = seed(scale)
                print(
                    f"   seeded {counts['products']:,} products, {counts['variants']:,} "
                    f"variants in {time.perf_counter() - started:.1f}s",
                    flush=True,
                )
                db.session.remove()
        results = measure(apps, requests)
    finally:
        for cleanup in cleanups:
            cleanup()
    print_table(db_kind, scales, results, requests)


def _clean(app: Flask, drop: Callable[[], None], root: Path, keep: bool) -> None:
    from app.extensions import db

    with app.app_context():
        db.engine.dispose()
    if not keep:
        drop()
        shutil.rmtree(root, ignore_errors=True)


def print_table(
    db_kind: str, scales: list[float], results: dict[float, dict[str, list[float]]], n: int
) -> None:
    base = scales[0]
    header = f"{'page':<22}" + "".join(f"{f'{s:g}x median':>12}{f'{s:g}x p95':>10}" for s in scales)
    if len(scales) > 1:
        header += "".join(f"{f'{s:g}x/{base:g}x':>10}" for s in scales[1:])
    print(f"\nServer time in ms on {db_kind} ({n} requests per page, Flask test client)")
    print(header)
    print("-" * len(header))
    for page in results[base]:
        line = f"{page:<22}"
        medians = {}
        for scale in scales:
            samples = results[scale][page]
            medians[scale] = statistics.median(samples)
            line += f"{medians[scale]:>12.1f}{_percentile(samples, 0.95):>10.1f}"
        for scale in scales[1:]:
            line += f"{medians[scale] / medians[base]:>10.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the catalogue's pages.")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the databases (and print where)")
    args = parser.parse_args()
    run(args.scale, args.db, args.requests, args.keep)


if __name__ == "__main__":
    main()
