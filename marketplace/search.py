"""Full-text search over listed products: title, tags, shop name and description.

One contract, two engines. The documents and the queries are cut into words by the same
Python function (`text.words`: folded to lower case without accents), then

* SQLite keeps them in an FTS5 virtual table (`product_search`, rowid = product id) and
  ranks with bm25;
* PostgreSQL keeps a weighted `tsvector` per product in `product_search` under a GIN index
  and ranks with ts_rank_cd, using the 'simple' configuration (no stemming, as FTS5).

Each query word matches as a prefix ("cera" finds "ceramic"), and every word must match. Only
listed products are in the index: the services call `index_products` whenever a product or
its shop changes, so the index never needs a join to know what is public.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    Subquery,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import ColumnElement

from app.extensions import db
from marketplace.models import SEARCH_TABLE, Product, Shop
from marketplace.text import words

MAX_QUERY_WORDS = 8

# Column weights: a word in the title counts most, then tags, the shop's name, the description.
SQLITE_WEIGHTS = (10.0, 4.0, 2.0, 1.0)

_sqlite_table = table(
    SEARCH_TABLE,
    column("rowid", Integer),
    column("title"),
    column("tags"),
    column("shop_name"),
    column("description"),
)
_pg_table = table(SEARCH_TABLE, column("product_id", Integer), column("document", TSVECTOR))


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def document(product: Product, shop_name: str) -> dict[str, str]:
    return {
        "title": " ".join(words(product.title)),
        "tags": " ".join(words(product.tags.replace(",", " "))),
        "shop_name": " ".join(words(shop_name)),
        "description": " ".join(words(product.description)),
    }


def _pg_vector(doc: dict[str, Any]) -> ColumnElement[Any]:
    def weighted(text: str, weight: str) -> ColumnElement[Any]:
        # setweight takes a "char"; an untyped literal lets PostgreSQL infer it (the weight
        # is one of our four constants, never input).
        return func.setweight(func.to_tsvector("simple", text), literal_column(f"'{weight}'"))

    return (
        weighted(doc["title"], "A")
        .op("||")(weighted(doc["tags"], "B"))
        .op("||")(weighted(doc["shop_name"], "C"))
        .op("||")(weighted(doc["description"], "D"))
    )


def remove_products(product_ids: Iterable[int]) -> None:
    ids = list(product_ids)
    if not ids:
        return
    if _is_postgres():
        db.session.execute(delete(_pg_table).where(_pg_table.c.product_id.in_(ids)))
    else:
        db.session.execute(delete(_sqlite_table).where(_sqlite_table.c.rowid.in_(ids)))


def index_products(products: Sequence[Product]) -> None:
    """(Re)index these products: listed ones are written, the others removed."""
    if not products:
        return
    remove_products(p.id for p in products)
    listed = [p for p in products if p.listed]
    if not listed:
        return
    rows = db.session.execute(
        select(Shop.id, Shop.name).where(Shop.id.in_({p.shop_id for p in listed}))
    )
    names: dict[int, str] = {shop_id: name for shop_id, name in rows}
    if _is_postgres():
        for product in listed:
            vector = _pg_vector(document(product, names[product.shop_id]))
            statement = pg_insert(_pg_table).values(product_id=product.id, document=vector)
            db.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[_pg_table.c.product_id], set_={"document": vector}
                )
            )
    else:
        db.session.execute(
            insert(_sqlite_table),
            [{"rowid": p.id, **document(p, names[p.shop_id])} for p in listed],
        )


def index_product(product: Product) -> None:
    index_products([product])


def reindex_shop(shop: Shop, batch: int = 500) -> None:
    """After a shop is renamed, paused or reopened: its products' documents change."""
    last_id = 0
    while True:
        products = list(
            db.session.scalars(
                select(Product)
                .where(Product.shop_id == shop.id, Product.id > last_id)
                .order_by(Product.id)
                .limit(batch)
            )
        )
        if not products:
            return
        index_products(products)
        last_id = products[-1].id


def query_words(query: str) -> list[str]:
    return words(query)[:MAX_QUERY_WORDS]


# PostgreSQL: how many of the newest index rows to try first (see `candidates`).
RECENT_WINDOW = 5_000


def candidates(
    query_terms: list[str], filtered: Callable[[Select[Any]], Select[Any]], limit: int
) -> tuple[Subquery, bool]:
    """The newest `limit` listed products matching every word and passing `filtered`, with
    their relevance: a subquery of (id, score), and whether a higher score is better.

    Walking the index newest first and stopping at `limit` keeps a common word's search from
    growing with the catalogue; the ranking is computed for the candidates only. The words
    contain only letters and digits, so quoting them is safe.
    """
    if _is_postgres():
        return _pg_candidates(query_terms, filtered, limit), True
    fts_query = " AND ".join(f'"{term}"*' for term in query_terms)
    rank = func.bm25(literal_column(SEARCH_TABLE), *SQLITE_WEIGHTS, type_=Float)
    # FTS5 yields its matches in rowid order, backwards on request, with no sort.
    statement = (
        filtered(select(Product.id.label("id"), rank.label("score")))
        .select_from(_sqlite_table)
        .join(Product, Product.id == _sqlite_table.c.rowid)
        .where(literal_column(SEARCH_TABLE).op("MATCH")(fts_query))
        .order_by(_sqlite_table.c.rowid.desc())
        .limit(limit)
    )
    return statement.subquery("candidates"), False


def _pg_candidates(
    query_terms: list[str], filtered: Callable[[Select[Any]], Select[Any]], limit: int
) -> Subquery:
    """PostgreSQL cannot walk a GIN index in order, and guesses badly how many rows a prefix
    query matches; so take the plan each case needs. First look for matches among the newest
    index rows (a backward primary-key scan, cheap when the words are common); only when
    that window holds fewer than `limit` matches, ask the GIN index for all matches (cheap
    when they are rare) and keep the newest. Either way the result is the newest `limit`
    matches."""
    tsquery = func.to_tsquery("simple", " & ".join(f"{term}:*" for term in query_terms))
    window = (
        select(_pg_table.c.product_id, _pg_table.c.document)
        .order_by(_pg_table.c.product_id.desc())
        .limit(RECENT_WINDOW)
        .subquery("recent_window")
    )
    recent = (
        filtered(select(Product.id.label("id")))
        .select_from(window)
        .join(Product, Product.id == window.c.product_id)
        .where(window.c.document.op("@@")(tsquery))
        .order_by(window.c.product_id.desc())
        .limit(limit)
        .cte("recent")
    )
    enough = select(func.count()).select_from(recent).scalar_subquery() >= limit
    # "+ 0" keeps the planner off the ordered primary-key scan here: this branch runs for
    # rare words, where the bitmap from the GIN index is the cheap way.
    everything = (
        filtered(select(Product.id.label("id")))
        .select_from(_pg_table)
        .join(Product, Product.id == _pg_table.c.product_id)
        .where(_pg_table.c.document.op("@@")(tsquery), ~enough)
        .order_by((_pg_table.c.product_id + 0).desc())
        .limit(limit)
        .subquery("everything")
    )
    ids = union_all(select(recent.c.id).where(enough), select(everything.c.id)).subquery(
        "candidate_ids"
    )
    return (
        select(ids.c.id, func.ts_rank_cd(_pg_table.c.document, tsquery, type_=Float).label("score"))
        .join(_pg_table, _pg_table.c.product_id == ids.c.id)
        .subquery("candidates")
    )


def rebuild_index() -> int:
    """Rebuild the whole index (after a bulk import). Returns the number of products indexed."""
    if _is_postgres():
        db.session.execute(delete(_pg_table))
    else:
        db.session.execute(delete(_sqlite_table))
    last_id, count = 0, 0
    while True:
        products = list(
            db.session.scalars(
                select(Product)
                .where(Product.listed.is_(True), Product.id > last_id)
                .order_by(Product.id)
                .limit(1000)
            )
        )
        if not products:
            return count
        index_products(products)
        count += len(products)
        last_id = products[-1].id
