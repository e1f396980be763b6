"""Time of the search SQL alone, on catalogues of 1x, 10x and 100x the products.

    .venv/bin/python -m bench.search                      # SQLite, scales 1 10 100
    .venv/bin/python -m bench.search --db postgresql --scale 1 10 100

1x is BASE_PRODUCTS products (so 100x seeds in a few minutes on two cores). For each scale
it builds a fresh database as bench.catalogue does (a temporary SQLite file, or a PostgreSQL
database it creates and drops), migrated and seeded with bench.seed. Then, for a mix of
searches, it executes the statement the search page executes (built by
`browse._text_search_statement` around `search.candidates`, with the same parameters) and
times that alone: no routing, no templates, no ORM objects, just the statement run and its
rows fetched. The scales take turns query by query, so that whatever else the machine is
doing weighs on each alike. What is timed is CPU time by default (--clock cpu: this
process's thread and, on PostgreSQL, its server process, from /proc/<pid>/schedstat), which
a busy machine delays but does not inflate; --clock wall times the elapsed time.

The query set: a rare word, uncommon, common and very common words, two common words, a
prefix, a long word, a word with a category, a word with a price range, a price sort, no
match, an English plural, a French one, a typo's look-up and what its correction finds. It
prints, per query, the median and 95th percentile at each scale, each scale's median
divided by the first's, and the worst of those ratios; and how many candidates each ranks
(at most browse.SEARCH_CANDIDATES, the newest matches), as a search whose matches are fewer
than that has more to rank on a larger catalogue. The machine is shared: read the ratios,
not the times. The goal: at 10x, within 1.5x. The figures are in the README's performance section.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Connection, func, select, text

from bench import catalogue
from bench.catalogue import _clean, _percentile, database_for, make_app
from bench.seed import PRODUCTS_PER_SCALE

# Products at 1x (--base): 100x is then 500,000 products, seeded in about four minutes on
# PostgreSQL on two cores. The search ranks the newest 500 matches at most
# (browse.SEARCH_CANDIDATES): at 1x a common word, a prefix and a long word already have
# that many, so their ratios compare the same work on a larger catalogue.
BASE_PRODUCTS = 5_000
# A rare word is rare in number, not in share: at every scale RARE_PRODUCTS products, spread
# over the catalogue, have it in their title (bench.seed's words are all in a fixed share of
# the products, so their matches grow with the catalogue).
RARE_WORD = "raku"
RARE_PRODUCTS = 24
# A French word in one listed product's title in FRENCH_EVERY (a share, as the seed's words
# are), for a French inflection to find ("bougies": stems "bougi", "boug").
FRENCH_WORD = "bougie"
FRENCH_EVERY = 40
# The PostgreSQL databases are named <prefix>_<seed scale>, apart from bench.catalogue's.
DB_PREFIX = f"{catalogue.DB_PREFIX}_search"


@dataclass(frozen=True)
class Search:
    label: str
    text: str
    category: str = ""
    min_price: int | None = None
    max_price: int | None = None
    sort: str = ""
    # "typo": not a search's statement but the look-up of the closest indexed word, which a
    # search that finds nothing runs for a word no indexed word starts with.
    kind: str = "search"


SEARCHES = [
    Search("rare word", RARE_WORD),
    Search("uncommon word", "teapot"),
    Search("common word", "wool"),
    Search("very common word", "piece"),
    Search("two common words", "linen mug"),
    Search("prefix", "sto"),
    Search("long word", "embroidered"),
    Search("word + category", "wool", category="clothing"),
    Search("word + price range", "mug", min_price=2000, max_price=5000),
    Search("common + price sort", "wool", sort="price_asc"),
    Search("no match", "zebra"),
    Search("plural", "mugs"),
    Search("French plural", "bougies"),
    Search("typo lookup", "stonewear", kind="typo"),
    # What a search with a typo shows: the corrected word's results (after the look-up).
    Search("typo corrected", "stoneware"),
]


def _query(search: Search) -> Any:
    from marketplace import browse

    query = browse.SearchQuery(
        text=search.text,
        category=search.category,
        min_price=search.min_price,
        max_price=search.max_price,
        sort=search.sort,
    )
    browse.check_query(query)
    return query


def statement_for(search: Search) -> tuple[Any, dict[str, Any]]:
    """The statement and parameters the search page executes for this search (page 1)."""
    from marketplace import browse
    from marketplace import search as text_search

    query = _query(search)
    if search.kind == "typo":
        return text_search.closest_statement(search.text), {}
    terms = text_search.query_terms(query.text)
    assert terms, search
    statement = browse._text_search_statement(query, terms, 1, 24)
    values = {**text_search.params(terms, browse._facets(query)), **browse._filter_params(query)}
    return statement, values


def candidates_count(search: Search) -> Any:
    """How many candidates the search ranks (at most browse.SEARCH_CANDIDATES): not timed,
    it says how much of a search's work is its results'."""
    from marketplace import browse
    from marketplace import search as text_search

    query = _query(search)
    if search.kind == "typo":  # the suggestions: one at most
        return select(func.count()).select_from(
            text_search.closest_statement(search.text).subquery()
        )
    terms = text_search.query_terms(query.text)
    found = text_search.candidates(
        terms,
        lambda statement: browse._filtered(statement, query),
        browse.SEARCH_CANDIDATES,
        browse._facets(query),
    )
    return select(func.count()).select_from(found)


def seed_scale(app: Flask, products: int) -> int:
    from flask_migrate import upgrade

    from app.extensions import db
    from bench.seed import seed

    with app.app_context():
        upgrade()
        started = time.perf_counter()
        counts = seed(products / PRODUCTS_PER_SCALE)
        add_rare_word()
        add_french_word()
        listed = db.session.scalar(select(func.count()).select_from(_search_table()))
        print(
            f"   seeded {counts['products']:,} products ({listed:,} listed), "
            f"{counts['shops']:,} shops in {time.perf_counter() - started:.1f}s",
            flush=True,
        )
        db.session.remove()
        return counts["products"]


def migrate_scale(app: Flask) -> int:
    """A database kept by an earlier run: brought to the newest migration (which indexes
    again what a new index format needs), not seeded."""
    from flask_migrate import upgrade

    from app.extensions import db
    from marketplace.models import Product

    with app.app_context():
        started = time.perf_counter()
        upgrade()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        products = db.session.scalar(select(func.count()).select_from(Product)) or 0
        print(f"   migrated in {time.perf_counter() - started:.1f}s", flush=True)
        db.session.remove()
        return products


def add_rare_word() -> None:
    """Put RARE_WORD in the titles of RARE_PRODUCTS listed products, spread over the ids, and
    index them again as the app does."""
    from app.extensions import db
    from marketplace import search as text_search
    from marketplace.models import Product

    ids = list(
        db.session.scalars(select(Product.id).where(Product.listed.is_(True)).order_by(Product.id))
    )
    step = len(ids) // RARE_PRODUCTS
    chosen = ids[step // 2 :: step][:RARE_PRODUCTS]
    products = list(db.session.scalars(select(Product).where(Product.id.in_(chosen))))
    for product in products:
        product.title = f"{RARE_WORD.title()} {product.title}"
    text_search.index_products(products)
    db.session.commit()


def add_french_word() -> None:
    """Put FRENCH_WORD in the titles of one listed product in FRENCH_EVERY, and index them
    again as the app does."""
    from app.extensions import db
    from marketplace import search as text_search
    from marketplace.models import Product

    ids = list(
        db.session.scalars(select(Product.id).where(Product.listed.is_(True)).order_by(Product.id))
    )[FRENCH_EVERY // 2 :: FRENCH_EVERY]
    for start in range(0, len(ids), 1000):
        chosen = ids[start : start + 1000]
        products = list(db.session.scalars(select(Product).where(Product.id.in_(chosen))))
        for product in products:
            product.title = f"{FRENCH_WORD.title()} {product.title}"
        text_search.index_products(products)
        db.session.commit()


def _search_table() -> Any:
    from sqlalchemy import table

    from marketplace.models import SEARCH_TABLE

    return table(SEARCH_TABLE)


# What is timed (--clock): "cpu", the CPU time the statement costs, this thread's and, on
# PostgreSQL, its server process's (from /proc/<pid>/schedstat, in nanoseconds; client and
# server share the machine): what a busy machine does not inflate, as other work delays a
# statement but does not make it use more CPU; or "wall", the time it took.
CLOCK = "cpu"


def _clock(connection: Connection) -> Callable[[], int]:
    """Nanoseconds of the chosen CLOCK for this connection."""
    if CLOCK == "wall":
        return time.perf_counter_ns
    server: Path | None = None
    if connection.dialect.name == "postgresql":
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        server = Path(f"/proc/{pid}/schedstat")

    def cpu() -> int:
        spent = time.thread_time_ns()
        if server is not None:
            spent += int(server.read_text().split()[0])
        return spent

    return cpu


def measure(
    apps: dict[float, Flask], runs: int, warm: int
) -> tuple[dict[float, dict[str, list[float]]], dict[float, dict[str, int]]]:
    """Time `runs` executions of each search at each scale, the scales taking turns."""
    from app.database import intent
    from app.extensions import db

    # One read-only transaction per scale for the whole measurement (on SQLite a plain
    # BEGIN), begun here: only the statements are timed.
    connections: dict[float, Connection] = {}
    with intent(False):
        for factor, app in apps.items():
            with app.app_context():
                connections[factor] = db.engine.connect()
            connections[factor].exec_driver_sql("SELECT 1")
    clocks = {factor: _clock(connection) for factor, connection in connections.items()}
    timings: dict[float, dict[str, list[float]]] = {factor: {} for factor in apps}
    found: dict[float, dict[str, int]] = {factor: {} for factor in apps}
    try:
        for search in SEARCHES:
            with next(iter(apps.values())).app_context():  # the SQL depends on the engine
                statement, values = statement_for(search)
                counting = candidates_count(search)
            for factor, connection in connections.items():
                found[factor][search.label] = connection.execute(counting, values).scalar_one()
                # Warm: the database's pages, SQLAlchemy's compiled statement, and on
                # PostgreSQL the statement psycopg prepares and the plan kept for it.
                for _ in range(warm):
                    connection.execute(statement, values).all()
                timings[factor][search.label] = []
            for _ in range(runs):
                for factor, connection in connections.items():
                    clock = clocks[factor]
                    started = clock()
                    connection.execute(statement, values).all()
                    timings[factor][search.label].append((clock() - started) / 1e6)
            print(f"   measured {search.label}", flush=True)
    finally:
        for connection in connections.values():
            connection.close()
    return timings, found


def run(
    factors: list[float],
    db_kind: str,
    base: int,
    runs: int,
    warm: int,
    keep: bool,
    reuse: bool = False,
) -> None:
    catalogue.DB_PREFIX = DB_PREFIX
    apps: dict[float, Flask] = {}
    products: dict[float, int] = {}
    cleanups: list[Callable[[], None]] = []
    try:
        for factor in factors:
            root = Path(tempfile.mkdtemp(prefix="kindred-bench-search-"))
            size = round(base * factor)
            if reuse and db_kind == "postgresql":  # kept by an earlier --keep: migrated only
                name = f"{DB_PREFIX}_{str(size / PRODUCTS_PER_SCALE).replace('.', '_')}"
                url, drop = f"{catalogue.PG_SERVER}/{name}", lambda: None
            else:
                url, drop = database_for(db_kind, size / PRODUCTS_PER_SCALE, root)
            print(f"== {db_kind}, {factor:g}x ({size:,} products): {url}", flush=True)
            app = make_app(url, root)
            apps[factor] = app
            cleanups.append(partial(_clean, app, drop, root, keep or reuse))
            products[factor] = migrate_scale(app) if reuse else seed_scale(app, size)
        timings, found = measure(apps, runs, warm)
        settings = engine_settings(next(iter(apps.values())))
    finally:
        for cleanup in cleanups:
            cleanup()
    print_table(db_kind + settings, factors, products, timings, found, runs)


def engine_settings(app: Flask) -> str:
    """On PostgreSQL, whether JIT compilation is on, and above what plan cost: past that
    cost (which grows with the catalogue's estimates) compiling a search's plan can cost
    far more than running it."""
    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return ""
        with db.engine.connect() as connection:
            jit = connection.execute(text("SHOW jit")).scalar_one()
            above = connection.execute(text("SHOW jit_above_cost")).scalar_one()
    return f", jit {jit} above cost {above}"


def print_table(
    db_kind: str,
    factors: list[float],
    products: dict[float, int],
    timings: dict[float, dict[str, list[float]]],
    found: dict[float, dict[str, int]],
    runs: int,
) -> None:
    base = factors[0]
    sizes = ", ".join(f"{f:g}x = {products[f]:,}" for f in factors)
    print(f"\nSearch SQL alone, {CLOCK} ms on {db_kind} ({runs} runs per query; products: {sizes})")
    header = f"{'query':<22}" + "".join(
        f"{f'{f:g}x ranked':>11}{f'{f:g}x median':>12}{f'{f:g}x p95':>9}" for f in factors
    )
    header += "".join(f"{f'{f:g}x/{base:g}x':>10}" for f in factors[1:])
    print(header)
    print("-" * len(header))
    # The worst ratio of all, and of the searches ranking as many candidates as at 1x (the
    # same work on a larger catalogue): a search with fewer matches than that ranks more of
    # them as the catalogue grows, and its time follows.
    worst: dict[float, tuple[float, str]] = {f: (0.0, "") for f in factors[1:]}
    same: dict[float, tuple[float, str]] = {f: (0.0, "") for f in factors[1:]}
    for search in SEARCHES:
        name = search.label
        medians = {f: statistics.median(timings[f][name]) for f in factors}
        line = f"{name:<22}"
        for f in factors:
            line += f"{found[f][name]:>11}{medians[f]:>12.2f}"
            line += f"{_percentile(timings[f][name], 0.95):>9.2f}"
        for f in factors[1:]:
            ratio = medians[f] / medians[base]
            line += f"{ratio:>10.2f}"
            worst[f] = max(worst[f], (ratio, name))
            if found[f][name] == found[base][name]:
                same[f] = max(same[f], (ratio, name))
        print(line)
    for f in factors[1:]:
        print(
            f"worst {f:g}x/{base:g}x: {worst[f][0]:.2f} ({worst[f][1]}); of the searches ranking "
            f"as many as at {base:g}x: {same[f][0]:.2f} ({same[f][1]})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    parser.add_argument("--base", type=int, default=BASE_PRODUCTS, help="products at 1x")
    parser.add_argument("--runs", type=int, default=60, help="timed runs per query and scale")
    parser.add_argument("--warm", type=int, default=12, help="untimed runs first")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="CPU time (this process and its PostgreSQL server process) or elapsed time",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="PostgreSQL: use the databases an earlier --keep left, migrated, not seeded again",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = args.clock
    run(args.scale, args.db, args.base, args.runs, args.warm, args.keep, args.reuse)


if __name__ == "__main__":
    main()
