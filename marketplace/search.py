"""Full-text search over listed products: title, tags, shop name and description.

One contract, two engines. The documents and the queries are cut into words by the same
Python function (`text.words`: folded to lower case without accents). Each query word matches
as a prefix ("cera" finds "ceramic"), and every word must match. Only listed products are in
the index: the services call `index_products` whenever a product or its shop changes, so the
index never needs a join to know what is public.

Both engines keep the four folded texts of each product in `product_search`, and find
matches through an index of word prefixes, so a query word is never expanded into the words
it begins (whose number and lists grow with the catalogue):

* SQLite: an FTS5 table with a prefix index of every word's first 1..PREFIX_CHARS characters
  (rowid = product id; detail=none, as no query needs word positions);
* PostgreSQL: a GIN index on `product_search_prefixes(...)`, a database function giving the
  tsvector whose lexemes are those same prefixes (the migration 0012_search_index makes
  both; no text-search parser is involved); the index has no pending list to scan, and the
  table's rows stay narrow (the texts only).

A longer query word is looked up by its first PREFIX_CHARS characters, then checked in the
texts. Relevance is computed the same way on both engines, from the candidates' texts only
(no statistics over the whole catalogue, whose cost would grow with it): for each query word,
the weights of the fields holding a word that starts with it (title 10, tags 4, shop name 2,
description 1), added up. So a query ranks the same products in the same order on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql import ColumnElement

from app.extensions import db
from marketplace.models import SEARCH_TABLE, Product, Shop
from marketplace.text import words

MAX_QUERY_WORDS = 8

# How many leading characters of each word the prefix index holds (the migration that builds
# the index uses the same number).
PREFIX_CHARS = 6

FIELDS = ("title", "tags", "shop_name", "description")
# A word found in the title counts most, then in the tags, the shop's name, the description.
WEIGHTS = (10, 4, 2, 1)

_sqlite_table = table(
    SEARCH_TABLE, column("rowid", Integer), *(column(name, String) for name in FIELDS)
)
_pg_table = table(
    SEARCH_TABLE, column("product_id", Integer), *(column(name, String) for name in FIELDS)
)
# The function the GIN index is built on. Computing it costs far more than a look into the
# texts, so it appears only where the index answers it (see `_pg_candidates`).
PG_PREFIXES = "product_search_prefixes"


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def document(product: Any, shop_name: str) -> dict[str, str]:
    """The texts indexed for a product (anything with a title, tags and a description): the
    words of each field, each after a space (" speckled stoneware mug"), so that a word
    starting with "sto" is where " sto" is."""
    return {
        "title": _spaced(product.title),
        "tags": _spaced(product.tags.replace(",", " ")),
        "shop_name": _spaced(shop_name),
        "description": _spaced(product.description),
    }


def _spaced(text: str) -> str:
    return "".join(f" {word}" for word in words(text))


def remove_products(product_ids: Iterable[int]) -> None:
    ids = list(product_ids)
    if not ids:
        return
    if _is_postgres():
        db.session.execute(delete(_pg_table).where(_pg_table.c.product_id.in_(ids)))
    else:
        db.session.execute(delete(_sqlite_table).where(_sqlite_table.c.rowid.in_(ids)))


def write_documents(rows: Sequence[tuple[int, dict[str, str]]]) -> None:
    """Add these (product id, document) pairs to the index; the ids must not be in it."""
    if not rows:
        return
    if _is_postgres():
        db.session.execute(insert(_pg_table), [{"product_id": pid, **doc} for pid, doc in rows])
    else:
        db.session.execute(insert(_sqlite_table), [{"rowid": pid, **doc} for pid, doc in rows])


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
    write_documents([(p.id, document(p, names[p.shop_id])) for p in listed])


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


# The values of a search are named parameters (`params`), so that a statement built for one
# search serves every search of the same shape (`shape`): the number of words, and which are
# longer than the prefix index holds.


def _word_key(index: int) -> str:
    return f"search_word_{index}"


def params(terms: Sequence[str]) -> dict[str, Any]:
    """The values of a text search's statement, for `execute`."""
    values: dict[str, Any] = {_word_key(i): f" {term}" for i, term in enumerate(terms)}
    values["search_match"] = " AND ".join(f'"{term[:PREFIX_CHARS]}"*' for term in terms)
    values["search_tsquery"] = " & ".join(f"'{term[:PREFIX_CHARS]}'" for term in terms)
    return values


def shape(terms: Sequence[str]) -> tuple[bool, ...]:
    """What a text search's statement is built from besides its values: one flag per word."""
    return tuple(len(term) > PREFIX_CHARS for term in terms)


def _param(name: str, terms: Sequence[str]) -> ColumnElement[Any]:
    return bindparam(name, params(terms)[name], type_=String)


def _starts_a_word(field: ColumnElement[Any], term: ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether a word of this stored text (see `document`) starts with term (a parameter
    holding the word with a space before it)."""
    position = func.strpos if _is_postgres() else func.instr
    return position(field, term) > _number(0)


def _word_params(terms: Sequence[str]) -> list[ColumnElement[Any]]:
    return [_param(_word_key(i), terms) for i in range(len(terms))]


def _has_words(
    fields: Sequence[ColumnElement[Any]], terms: Sequence[ColumnElement[Any]]
) -> list[ColumnElement[bool]]:
    """Each term starts a word of one of the fields."""
    return [or_(*(_starts_a_word(field, term) for field in fields)) for term in terms]


def _long_words_found(
    fields: Sequence[ColumnElement[Any]], terms: list[str]
) -> list[ColumnElement[bool]]:
    """The prefix index knows words by their first PREFIX_CHARS characters: a longer query
    word is checked in the texts."""
    words = _word_params(terms)
    return _has_words(fields, [words[i] for i, long in enumerate(shape(terms)) if long])


def _relevance(fields: Sequence[ColumnElement[Any]], terms: list[str]) -> ColumnElement[Any]:
    total: ColumnElement[Any] = _number(0)
    for term in _word_params(terms):
        for field, weight in zip(fields, WEIGHTS, strict=True):
            total = total + case((_starts_a_word(field, term), _number(weight)), else_=_number(0))
    return total


# What each candidate carries besides its id and score: the keys the results are sorted by.
SORT_KEYS = ("published_at", "price_minor")


def _sort_keys() -> list[ColumnElement[Any]]:
    return [getattr(Product, name).label(name) for name in SORT_KEYS]


def _number(value: float) -> ColumnElement[Any]:
    """A number written into the statement, not bound: the numbers that shape a plan (row
    limits, thresholds) must be known to PostgreSQL's planner, also when it makes one plan
    for every execution of a prepared statement."""
    return literal_column(repr(value))


def candidates(
    query_terms: list[str], filtered: Callable[[Select[Any]], Select[Any]], limit: int
) -> Subquery:
    """The newest `limit` listed products matching every word and passing `filtered`: a
    subquery of (id, score, published_at, price_minor), a higher score being more relevant.

    Walking the matches newest first and stopping at `limit` keeps a common word's search
    from growing with the catalogue; the relevance is computed for the candidates only, and
    the caller sorts them and loads the products of one page. The words contain only
    letters and digits, so quoting them is safe.
    """
    if _is_postgres():
        return _pg_candidates(query_terms, filtered, limit)
    fields = [_sqlite_table.c[name] for name in FIELDS]
    # FTS5 yields its matches in rowid order, backwards on request, with no sort; each
    # prefix is one entry of the prefix index, read lazily.
    statement = (
        filtered(
            select(
                Product.id.label("id"),
                _relevance(fields, query_terms).label("score"),
                *_sort_keys(),
            )
        )
        .select_from(_sqlite_table)
        .join(Product, Product.id == _sqlite_table.c.rowid)
        .where(literal_column(SEARCH_TABLE).op("MATCH")(_param("search_match", query_terms)))
        .where(*_long_words_found(fields, query_terms))
        .order_by(_sqlite_table.c.rowid.desc())
        .limit(_number(limit))
    )
    return statement.subquery("candidates")


# PostgreSQL: the newest index rows in which a query's densities are sampled (see below);
# the cost of reading one index row in id order, of looking up its product, and of fetching
# one product that an index found (the index row, then the product), relative to each other.
PROBE_ROWS = 1_000
ROW_COST, LOOKUP_COST, FETCH_COST = 1, 6, 8
# Words in at least this share of the sample are looked for through the filters, not GIN.
COMMON_WORDS = 0.1


def _pg_candidates(
    query_terms: list[str], filtered: Callable[[Select[Any]], Select[Any]], limit: int
) -> Subquery:
    """PostgreSQL cannot walk a GIN index in order, so there are three ways to the newest
    `limit` matches, each cheap in its own case:

    * scan the index rows newest first, checking the words in the texts, and stop at `limit`
      matches that pass the filters: cheap when those are dense (a common word), as it reads
      about limit / density rows;
    * for rare words, ask the GIN index for every product with them (each word is one
      lexeme, so GIN skips through the rarest word's list), filter them, keep the newest;
    * for common words with a narrow filter (a shop, a price range), let the planner start
      from the filter's index and check the words in the texts.

    The densities of the words and of the matches are sampled among the newest PROBE_ROWS
    rows, and the cheaper way taken. The scan is given three times the rows the sample
    predicts; should it still find too few (the sample was not typical), one of the other
    ways gives them. Either way the result is the newest `limit` matches.
    """
    texts = [_pg_table.c[name] for name in FIELDS]
    words_ = _word_params(query_terms)

    def newest(rows: ColumnElement[Any]) -> Subquery:
        return select(_pg_table).order_by(_pg_table.c.product_id.desc()).limit(rows).subquery()

    def count(rows: Any) -> ColumnElement[Any]:
        return select(func.count()).select_from(rows).scalar_subquery()

    def looked_up(rows: Any) -> Any:
        """The product of each of these index rows, if it passes the filters: looked up row
        by row (a lateral join, kept from being unnested by its limit), so that a scan can
        stop early and a few rows never cost a pass over the products."""
        return (
            filtered(select(Product.id.label("id"), *_sort_keys()))
            .where(Product.id == rows.c.product_id)
            .limit(_number(1))
            .lateral("product")
        )

    sample = newest(_number(PROBE_ROWS))
    sample_words = (
        select(sample.c.product_id)
        .where(*_has_words([sample.c[name] for name in FIELDS], words_))
        .cte("sample")
    )
    probe = select(
        count(sample_words).label("words"),
        count(select(sample_words).join(looked_up(sample_words), true()).subquery()).label("found"),
        select(func.max(_pg_table.c.product_id)).scalar_subquery().label("catalogue"),
    ).cte("probe")
    words, found, catalogue = (select(c).scalar_subquery() for c in probe.c)
    rare = words < _number(COMMON_WORDS * PROBE_ROWS)
    # The scan reads about limit / found-density rows, looking up the product of those with
    # the words. Otherwise, for rare words GIN finds words-density x catalogue products; for
    # common ones, a filter's index finds (found / words)-density x catalogue products.
    scan_cost = _number(limit) * (
        _number(ROW_COST * PROBE_ROWS) + _number(LOOKUP_COST) * words
    )  # x found
    other_cost = case(
        (rare, _number(FETCH_COST) * words * catalogue / _number(PROBE_ROWS)),
        else_=_number(FETCH_COST) * catalogue * found / func.greatest(words, 1),
    )
    scan = and_(
        scan_cost < found * other_cost,
        found * catalogue >= _number(3 * PROBE_ROWS * limit),  # within the catalogue
    )
    window = newest(cast(_number(3 * PROBE_ROWS * limit) / func.greatest(found, 1), Integer))
    product = looked_up(window)
    recent = (
        select(product, *(window.c[name] for name in FIELDS))
        .select_from(window)
        .join(product, true())
        .where(*_has_words([window.c[name] for name in FIELDS], words_), scan)
        .order_by(window.c.product_id.desc())
        .limit(_number(limit))
        .cte("recent")
    )
    enough = count(recent) >= _number(limit)

    def everything(*where: ColumnElement[bool]) -> Subquery:
        # "+ 0" keeps the planner off the ordered primary-key scan: the cheap ways here are
        # the GIN index's bitmap, or a filter's index. The words are also checked in the
        # texts, so that however the planner goes, it computes the indexed function (for
        # want of the index) only for products that have the words.
        return (
            filtered(select(Product.id.label("id"), *_sort_keys(), *texts))
            .select_from(_pg_table)
            .join(Product, Product.id == _pg_table.c.product_id)
            .where(*_has_words(texts, words_), *where)
            .order_by((_pg_table.c.product_id + _number(0)).desc())
            .limit(_number(limit))
            .subquery()
        )

    tsquery = cast(_param("search_tsquery", query_terms), TSQUERY)
    # For rare words: every index row GIN finds, newest first, then each one's product (so
    # the products looked up are those of the `limit` newest matches, about).
    with_words = (
        select(_pg_table)
        .where(
            getattr(func, PG_PREFIXES)(*texts).op("@@")(tsquery),
            *_has_words(texts, words_),
        )
        .order_by(_pg_table.c.product_id.desc())
        .offset(_number(0))  # planned on its own: GIN, then a sort of what it found
        .subquery()
    )
    found_product = looked_up(with_words)
    by_words = (
        select(found_product, *(with_words.c[name] for name in FIELDS))
        .select_from(with_words)
        .join(found_product, true())
        .order_by(with_words.c.product_id.desc())
        .limit(_number(limit))
        .subquery()
    )
    by_filters = everything()
    # Which way runs is decided outside each way's own query (whose limit keeps the
    # condition out of it), so that a way not taken starts nothing, not even parallel workers.
    matches = union_all(
        select(recent).where(enough),
        select(*by_words.c).where(~enough, rare),
        select(*by_filters.c).where(~enough, ~rare),
    ).subquery("found")
    return select(
        matches.c.id,
        _relevance([matches.c[name] for name in FIELDS], query_terms).label("score"),
        *(matches.c[name] for name in SORT_KEYS),
    ).subquery("candidates")


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
