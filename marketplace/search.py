"""Full-text search over listed products: title, tags, shop name and description.

One contract, two engines. The documents and the queries are cut into words by the same
Python function (`text.words`: folded to lower case without accents). Every query word must
match, in one of two ways:

* as a prefix: "cera" finds "ceramic", "stonewa" finds "stoneware";
* by its stem: "mugs" finds "mug", "tasses" finds "tasse", "knitted" finds "knitting".

Products have no language, and a shop may write in English or in French, so each word is
stemmed in both (Snowball's English and French stemmers, through PyStemmer, in Python at index
time and at query time, so both engines see the same stems). A document keeps its words and,
after a marker (" ~ "), the stems of its words that differ from them: " tasses bleues ~ tass
bleue bleu ". A query word's stems must equal one of the document's words or stems, while the word
itself still matches as a prefix: so "bougies" (stems "boug", "bougi") finds "bougie" but
not "bought", and "cera" (French stem "cer") finds "ceramic" but not "cereal".

Each row also carries the tokens of the filters the index answers (`facets`: the product's
category, root and leaf, and the band and decade of its lowest price), so that a word with a
price range or a category is one look into the index, not a walk through the word's matches
checking each product's price (see "facets" below).

Only listed products are in the index: the services call `index_products` whenever a product
or its shop changes, so the index never needs a join to know what is public.

Both engines keep the four texts of each product in `product_search`, and find matches
through an index of word prefixes, so a query word is never expanded into the words it begins
(whose number and lists grow with the catalogue):

* SQLite: an FTS5 table with a prefix index of every word's first 1..PREFIX_CHARS characters
  (rowid = product id; detail=none, as no query needs word positions);
* PostgreSQL: a GIN index on `product_search_lexemes(...)`, a database function giving the
  tsvector whose lexemes are those same prefixes and the facets' tokens (the migrations
  0012_search_index and 0024_search_facets make both; no text-search parser is involved);
  the index has no pending list to scan, and the table's rows stay narrow (the texts only).
  SQLite's tokenizer keeps "_" in a token, for the facets' tokens.

A query word (or stem) is looked up by its first PREFIX_CHARS characters; a longer word, and
every stem (which must be a whole word), is then checked in the texts. Relevance is computed
the same way on both engines, from the candidates' texts only (no statistics over the whole
catalogue, whose cost would grow with it): for each query word, the weights of the fields
holding a word that starts with it or equals one of its stems (title 10, tags 4, shop name 2,
description 1), added up. So a query ranks the same products in the same order on both.

Typos. A vocabulary, `product_search_words`, holds every word of the index (not the stems; in
letters a-z and digits, up to VOCABULARY_CHARS long, the alphabet in which pg_trgm's trigrams
and ours are surely the same) with the number of indexed products that have it, kept
by the same calls that keep the index. When a search finds nothing, each of its words that no
vocabulary word starts with (nor with its stems) is replaced by the vocabulary word most like
it: the most trigrams in common, measured as PostgreSQL's pg_trgm does (the share of the two
words' trigrams that they share, at least SIMILARITY), then the word in more products, then
the first in alphabetical order. PostgreSQL asks pg_trgm, through a trigram GIN index on the
vocabulary; SQLite keeps each word's trigrams in `product_search_trigrams`, indexed by trigram,
and computes the same similarity. Neither reads the catalogue: the work grows with the
vocabulary's words that share a trigram with the typo.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import click
import Stemmer
from flask import Flask
from sqlalchemy import (
    Float,
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
from sqlalchemy.dialects import postgresql, sqlite
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

# Besides its texts, each row has the tokens of the filters the index answers (`facets`).
FACETS = "facets"
_sqlite_table = table(
    SEARCH_TABLE,
    column("rowid", Integer),
    *(column(name, String) for name in (*FIELDS, FACETS)),
)
_pg_table = table(
    SEARCH_TABLE,
    column("product_id", Integer),
    *(column(name, String) for name in (*FIELDS, FACETS)),
)
# The function the GIN index is built on: the texts' word prefixes and the facets' tokens.
# Computing it costs far more than a look into the texts, so it appears only where the index
# answers it (see `_pg_candidates`).
PG_PREFIXES = "product_search_lexemes"


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


# The words of a document's field come first, then after this marker their stems (those that
# are not words of the field already). No word is a marker: words are letters and digits.
STEMS_MARK = "~"
_STEMMERS = (Stemmer.Stemmer("english"), Stemmer.Stemmer("french"))
# A PyStemmer stemmer is not safe to share between threads.
_stemming = threading.Lock()


# Plurals shoppers type that the stemmers do not bring back to their singular (English -ves
# and changed vowels, French -aux of an -ail, folded): such a word also has its singular, and
# the singular's stems, among its stems; so "knives" finds "knife", and "knife" "knives".
IRREGULAR_PLURALS = {
    "calves": "calf",
    "children": "child",
    "feet": "foot",
    "geese": "goose",
    "halves": "half",
    "hooves": "hoof",
    "knives": "knife",
    "leaves": "leaf",
    "lives": "life",
    "loaves": "loaf",
    "men": "man",
    "mice": "mouse",
    "scarves": "scarf",
    "shelves": "shelf",
    "teeth": "tooth",
    "thieves": "thief",
    "wives": "wife",
    "wolves": "wolf",
    "women": "woman",
    "coraux": "corail",
    "travaux": "travail",
    "vitraux": "vitrail",
    "yeux": "oeil",
}


@lru_cache(maxsize=50_000)
def stems(word: str) -> tuple[str, ...]:
    """The word's English and French stems that differ from it, without repeats:
    "tasses" -> ("tass",); "bougies" -> ("bougi", "boug"); "mug" -> (); and for an irregular
    plural, its singular and the singular's: "knives" -> ("knive", "kniv", "knife", "knif")."""
    singular = IRREGULAR_PLURALS.get(word)
    forms = (word,) if singular is None else (word, singular)
    with _stemming:
        found = [stemmer.stemWord(form) for form in forms for stemmer in _STEMMERS]
    if singular is not None:
        found.insert(len(_STEMMERS), singular)
    return tuple(dict.fromkeys(stem for stem in found if stem and stem != word))


def document(product: Any, shop_name: str) -> dict[str, str]:
    """The texts indexed for a product (anything with a title, tags and a description): the
    words of each field, then the stems of the field's words that are not words of it, each
    after a space and before one (" speckled stoneware mugs ~ speckl stonewar mug "), so that
    a word starting with "sto" is where " sto" is, and a word "mug" where " mug " is."""
    return {
        "title": _field(product.title),
        "tags": _field(product.tags.replace(",", " ")),
        "shop_name": _field(shop_name),
        "description": _field(product.description),
    }


def _field(text: str) -> str:
    found = words(text)
    if not found:
        return ""
    known = set(found)
    extra: list[str] = []
    for word in found:
        for stem in stems(word):
            if stem not in known:
                known.add(stem)
                extra.append(stem)
    tokens = [*found, STEMS_MARK, *extra] if extra else found
    return "".join(f" {token}" for token in tokens) + " "


# --- facets: the filters the index answers with the words -----------------------------------
#
# A word and a price range, or a word and a category, are one look into the index: each
# product's row carries, in `facets`, tokens for its category (its root and its leaf) and for
# its price (the lowest of its variants' prices, which the price filter compares): a band
# and the band's decade. A query's price range becomes the bands and decades that overlap it,
# any of which a match must have; the range itself is still checked on the product, so a band
# only narrows (a price range is a union of whole decades and of bands, plus its two ends).
# Tokens start with "_", which no word has (words are letters and digits): no query word is
# ever found in them, and on SQLite the tokenizer keeps "_" in a token.

# Ten bands a decade, with these lower edges (in hundredths of the decade's start).
BAND_MANTISSAS = (100, 125, 150, 200, 250, 300, 400, 500, 600, 800)
# Prices are at most rules.MAX_PRICE_MINOR (10^7); decades up to 10^10 hold any higher.
TOP_DECADE = 10
BAND_EDGES = tuple(
    sorted({m * 10**decade // 100 for decade in range(TOP_DECADE + 1) for m in BAND_MANTISSAS})
)


def _decade(price: int) -> int:
    return min(len(str(max(price, 1))) - 1, TOP_DECADE)


def price_band(price: int) -> tuple[int, int]:
    """The band of a price, as its lower edge and its decade's start: 2800 -> (2500, 1000);
    a price on an edge is in the band it starts: 3000 -> (3000, 1000)."""
    price = max(price, 1)
    return BAND_EDGES[bisect_right(BAND_EDGES, price) - 1], 10 ** _decade(price)


def _band_token(edge: int) -> str:
    return f"_b{edge}"


def _decade_token(start: int) -> str:
    return f"_d{start}"


def category_token(key: str) -> str:
    return "_c" + re.sub(r"[^a-z0-9]+", "_", key)


def facets(price_minor: int, category: str) -> str:
    """The facets' text of a product with this (lowest) price in this category (a leaf key,
    "home/decor"): " _b2500 _d1000 _chome _chome_decor "."""
    edge, decade = price_band(price_minor)
    tokens = [_band_token(edge), _decade_token(decade)]
    root = category.split("/")[0]
    tokens += dict.fromkeys(category_token(key) for key in (root, category) if key)
    return "".join(f" {token}" for token in tokens) + " "


def price_tokens(low: int | None, high: int | None) -> tuple[str, ...]:
    """The tokens one of which every product priced from `low` to `high` (either may be
    None: no bound) has: the decades inside the range, and the bands of the others that
    overlap it. Empty when the range holds every price."""
    low = max(low or 1, 1)
    if high is None and low <= 1:
        return ()
    if high is not None and high < low:
        return (_band_token(0),)  # no product: no band starts at 0
    last = TOP_DECADE if high is None else _decade(high)
    tokens: list[str] = []
    for decade in range(_decade(low), last + 1):
        start, end = 10**decade, 10 ** (decade + 1)
        if low <= start and (high is None or high >= end - 1 or decade == TOP_DECADE):
            tokens.append(_decade_token(start))
            continue
        edges = [edge for edge in BAND_EDGES if start <= edge < end or decade == TOP_DECADE]
        for i, edge in enumerate(edges):
            if edge < start:
                continue
            upper = edges[i + 1] - 1 if i + 1 < len(edges) else None  # the band's last price
            if (high is None or edge <= high) and (upper is None or upper >= low):
                tokens.append(_band_token(edge))
    return tuple(tokens)


# Groups of tokens: a match has one token of each group.
Facets = tuple[tuple[str, ...], ...]


def filter_facets(category: str = "", low: int | None = None, high: int | None = None) -> Facets:
    """The facets of a query's filters: groups of tokens, a match having one of each group
    (a category key, root or leaf; a price range)."""
    groups: list[tuple[str, ...]] = []
    if category:
        groups.append((category_token(category),))
    prices = price_tokens(low, high)
    if prices:
        groups.append(prices)
    return tuple(groups)


# --- the vocabulary: every indexed word, for typos ----------------------------------------

VOCABULARY_TABLE = f"{SEARCH_TABLE}_words"
TRIGRAMS_TABLE = f"{SEARCH_TABLE}_trigrams"  # SQLite only; PostgreSQL has pg_trgm
# Longer words (a reference number, a URL's remains) are not typos anyone corrects.
VOCABULARY_CHARS = 32
_VOCABULARY_WORD = re.compile(rf"[a-z0-9]{{1,{VOCABULARY_CHARS}}}")
# The least similarity of a correction, pg_trgm's default threshold (pg_trgm.similarity_threshold,
# which its `%` operator uses, must not be set higher).
SIMILARITY = 0.3
# Query words shorter than this are not corrected (two letters have few trigrams to compare).
CORRECTED_CHARS = 3

_vocabulary = table(
    VOCABULARY_TABLE,
    column("word", String),
    column("products", Integer),
    column("trigrams", Integer),
)
_trigrams = table(TRIGRAMS_TABLE, column("trigram", String), column("word", String))


def trigrams(word: str) -> set[str]:
    """A word's trigrams as pg_trgm cuts them: "cat" -> "  c", " ca", "cat", "at "."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def vocabulary_words(texts: Iterable[str]) -> set[str]:
    """The words of these indexed texts (not their stems) that the vocabulary keeps."""
    return {
        word
        for text in texts
        for word in text.split(f" {STEMS_MARK} ")[0].split()
        if _VOCABULARY_WORD.fullmatch(word)
    }


def vocabulary_rows(counts: Counter[str]) -> list[dict[str, Any]]:
    """The rows of the vocabulary for these words and their products' counts."""
    return [
        {"word": word, "products": n, "trigrams": len(trigrams(word))}
        for word, n in sorted(counts.items())
        if n
    ]


def trigram_rows(words_: Iterable[str]) -> list[dict[str, str]]:
    return [{"trigram": gram, "word": word} for word in words_ for gram in sorted(trigrams(word))]


def _change_vocabulary(delta: Counter[str]) -> None:
    """Add these numbers of products to their words' counts (negative: products that no
    longer have the word); a word no product has leaves the vocabulary. The rows change in
    the words' order, so that two transactions changing the same words wait for each other
    instead of locking each other out."""
    rows = vocabulary_rows(delta)
    if not rows:
        return
    postgres = _is_postgres()
    upsert = (postgresql if postgres else sqlite).insert(_vocabulary)
    upsert = upsert.on_conflict_do_update(
        index_elements=["word"],
        set_={"products": _vocabulary.c.products + upsert.excluded.products},
    )
    db.session.execute(upsert, rows)
    if not postgres:
        added = [row["word"] for row in rows if row["products"] > 0]
        if added:
            grams = sqlite.insert(_trigrams).on_conflict_do_nothing()
            db.session.execute(grams, trigram_rows(added))
    fewer = [row["word"] for row in rows if row["products"] < 0]
    if not fewer:
        return
    gone = list(
        db.session.scalars(
            delete(_vocabulary)
            .where(_vocabulary.c.word.in_(fewer), _vocabulary.c.products <= 0)
            .returning(_vocabulary.c.word)
        )
    )
    if gone and not postgres:
        db.session.execute(delete(_trigrams).where(_trigrams.c.word.in_(gone)))


def _indexed_words(ids: list[int]) -> Counter[str]:
    """How many of these products' indexed documents have each vocabulary word."""
    key = _pg_table.c.product_id if _is_postgres() else _sqlite_table.c.rowid
    source = _pg_table if _is_postgres() else _sqlite_table
    counts: Counter[str] = Counter()
    rows = db.session.execute(select(*(source.c[name] for name in FIELDS)).where(key.in_(ids)))
    for texts in rows:
        counts.update(vocabulary_words(texts))
    return counts


def _unindex(ids: list[int]) -> Counter[str]:
    """Remove these products from the index; the vocabulary words they had."""
    if not ids:
        return Counter()
    had = _indexed_words(ids)
    if _is_postgres():
        db.session.execute(delete(_pg_table).where(_pg_table.c.product_id.in_(ids)))
    else:
        db.session.execute(delete(_sqlite_table).where(_sqlite_table.c.rowid.in_(ids)))
    return had


def _write(rows: Sequence[tuple[int, dict[str, str]]]) -> Counter[str]:
    """Add these (product id, document) pairs to the index; the vocabulary words they have."""
    if not rows:
        return Counter()
    if _is_postgres():
        db.session.execute(insert(_pg_table), [{"product_id": pid, **doc} for pid, doc in rows])
    else:
        db.session.execute(insert(_sqlite_table), [{"rowid": pid, **doc} for pid, doc in rows])
    counts: Counter[str] = Counter()
    for _pid, doc in rows:
        counts.update(vocabulary_words(doc[name] for name in FIELDS))
    return counts


def remove_products(product_ids: Iterable[int]) -> None:
    had = _unindex(list(product_ids))
    _change_vocabulary(Counter({word: -n for word, n in had.items()}))


def write_documents(rows: Sequence[tuple[int, dict[str, str]]]) -> None:
    """Add these (product id, document) pairs to the index; the ids must not be in it. A
    document is `document`'s texts and the product's `facets`."""
    _change_vocabulary(_write(rows))


def index_products(products: Sequence[Product]) -> None:
    """(Re)index these products: listed ones are written, the others removed."""
    if not products:
        return
    delta = Counter(_unindex([p.id for p in products]))
    delta = Counter({word: -n for word, n in delta.items()})
    listed = [p for p in products if p.listed]
    if listed:
        rows = db.session.execute(
            select(Shop.id, Shop.name).where(Shop.id.in_({p.shop_id for p in listed}))
        )
        names: dict[int, str] = {shop_id: name for shop_id, name in rows}
        delta.update(
            _write(
                [
                    (
                        p.id,
                        {
                            **document(p, names[p.shop_id]),
                            FACETS: facets(p.price_minor, p.category),
                        },
                    )
                    for p in listed
                ]
            )
        )
    # Only the words whose counts change are written: a product edited keeps its other words.
    _change_vocabulary(delta)


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


@dataclass(frozen=True)
class Term:
    """A query word, matched as a prefix, and its stems, matched as whole words."""

    word: str
    stems: tuple[str, ...] = ()

    @property
    def checked(self) -> bool:
        """Whether the texts must confirm what the prefix index found: a word longer than
        the index's prefixes, or stems (whole words, not prefixes)."""
        return len(self.word) > PREFIX_CHARS or bool(self.stems)

    @property
    def prefixes(self) -> list[str]:
        """What the prefix index is asked for: any of these starts a word."""
        return list(dict.fromkeys(x[:PREFIX_CHARS] for x in (self.word, *self.stems)))


def query_terms(query: str) -> list[Term]:
    return [Term(word, stems(word)) for word in query_words(query)]


# The values of a search are named parameters (`params`), so that a statement built for one
# search serves every search of the same shape (`shape`): the number of words, which the
# texts must check, and how many stems each has.


def _word_key(index: int) -> str:
    return f"search_word_{index}"


def _stem_key(index: int, stem: int) -> str:
    return f"search_stem_{index}_{stem}"


def params(terms: Sequence[Term], facets: Facets = ()) -> dict[str, Any]:
    """The values of a text search's statement, for `execute`."""
    values: dict[str, Any] = {}
    for i, term in enumerate(terms):
        values[_word_key(i)] = f" {term.word}"
        for j, stem in enumerate(term.stems):
            values[_stem_key(i, j)] = f" {stem} "
    # The words as prefixes, the facets' tokens whole.
    match = [[f'"{prefix}"*' for prefix in term.prefixes] for term in terms]
    tsquery = [[f"'{prefix}'" for prefix in term.prefixes] for term in terms]
    match += [[f'"{token}"' for token in group] for group in facets]
    tsquery += [[f"'{token}'" for token in group] for group in facets]
    values["search_match"] = " AND ".join("(" + " OR ".join(any_) + ")" for any_ in match)
    values["search_tsquery"] = " & ".join("(" + " | ".join(any_) + ")" for any_ in tsquery)
    return values


def shape(terms: Sequence[Term], facets: Facets = ()) -> tuple[Any, ...]:
    """What a text search's statement is built from besides its values: for each word,
    whether the texts check it, and how many stems it has; how many groups of facets."""
    return (tuple((term.checked, len(term.stems)) for term in terms), len(facets))


def _param(name: str, terms: Sequence[Term], facets: Facets = ()) -> ColumnElement[Any]:
    return bindparam(name, params(terms, facets)[name], type_=String)


def _found_in(field: ColumnElement[Any], term: ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether this stored text (see `document`) holds term (a parameter): a word starting
    with it (" mug"), or a whole word (" mug ")."""
    position = func.strpos if _is_postgres() else func.instr
    return position(field, term) > _number(0)


def _term_params(terms: Sequence[Term]) -> list[list[ColumnElement[Any]]]:
    """For each term, the parameters of its word and of its stems."""
    values = params(terms)
    return [
        [
            bindparam(key, values[key], type_=String)
            for key in (_word_key(i), *(_stem_key(i, j) for j in range(len(term.stems))))
        ]
        for i, term in enumerate(terms)
    ]


def _in_field(field: ColumnElement[Any], term: list[ColumnElement[Any]]) -> ColumnElement[bool]:
    return or_(*(_found_in(field, value) for value in term))


def _has_terms(
    fields: Sequence[ColumnElement[Any]], terms: Sequence[list[ColumnElement[Any]]]
) -> list[ColumnElement[bool]]:
    """Each term (its word as a prefix, or one of its stems) is in one of the fields."""
    return [or_(*(_in_field(field, term) for field in fields)) for term in terms]


def _checked_terms(
    fields: Sequence[ColumnElement[Any]], terms: list[Term]
) -> list[ColumnElement[bool]]:
    """The prefix index knows words by their first PREFIX_CHARS characters: a longer query
    word, and a stem, which must be a whole word, are checked in the texts."""
    values = _term_params(terms)
    return _has_terms(fields, [values[i] for i, term in enumerate(terms) if term.checked])


def _relevance(fields: Sequence[ColumnElement[Any]], terms: list[Term]) -> ColumnElement[Any]:
    total: ColumnElement[Any] = _number(0)
    for term in _term_params(terms):
        for field, weight in zip(fields, WEIGHTS, strict=True):
            total = total + case((_in_field(field, term), _number(weight)), else_=_number(0))
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
    query_terms: list[Term],
    filtered: Callable[[Select[Any]], Select[Any]],
    limit: int,
    facets: Facets = (),
) -> Subquery:
    """The newest `limit` listed products matching every word and passing `filtered`: a
    subquery of (id, score, published_at, price_minor), a higher score being more relevant.
    `facets` are the tokens of the filters the index answers (`filter_facets`): the index
    finds the products with the words and the facets at once; `filtered` still decides.

    Walking the matches newest first and stopping at `limit` keeps a common word's search
    from growing with the catalogue; the relevance is computed for the candidates only, and
    the caller sorts them and loads the products of one page. The words contain only
    letters and digits, so quoting them is safe.
    """
    if _is_postgres():
        return _pg_candidates(query_terms, filtered, limit, facets)
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
        .where(
            literal_column(SEARCH_TABLE).op("MATCH")(_param("search_match", query_terms, facets))
        )
        .where(*_checked_terms(fields, query_terms))
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


def settings() -> tuple[float, ...]:
    """The numbers a search's statement is built with besides its shape (a statement kept
    for a shape must be built again when they change, as a test may change them)."""
    return (PREFIX_CHARS, PROBE_ROWS, ROW_COST, LOOKUP_COST, FETCH_COST, COMMON_WORDS)


def _pg_candidates(
    query_terms: list[Term],
    filtered: Callable[[Select[Any]], Select[Any]],
    limit: int,
    facets: Facets,
) -> Subquery:
    """PostgreSQL cannot walk a GIN index in order, so there are three ways to the newest
    `limit` matches, each cheap in its own case:

    * scan the index rows newest first, checking the words in the texts, and stop at `limit`
      matches that pass the filters: cheap when those are dense (a common word), as it reads
      about limit / density rows;
    * for rare words, ask the GIN index for every product with them and the filters'
      facets (each word and each token is one lexeme, so GIN skips through the rarest
      list), filter them, keep the newest;
    * for common words with a narrow filter (a shop, a price range), let the planner start
      from the filter's index and check the words in the texts.

    The densities of the words and of the matches are sampled among the newest PROBE_ROWS
    rows, and the cheaper way taken. The scan is given three times the rows the sample
    predicts; should it still find too few (the sample was not typical), one of the other
    ways gives them. Either way the result is the newest `limit` matches.
    """
    texts = [_pg_table.c[name] for name in FIELDS]
    words_ = _term_params(query_terms)

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
        .where(*_has_terms([sample.c[name] for name in FIELDS], words_))
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
        .where(*_has_terms([window.c[name] for name in FIELDS], words_), scan)
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
            .where(*_has_terms(texts, words_), *where)
            .order_by((_pg_table.c.product_id + _number(0)).desc())
            .limit(_number(limit))
            .subquery()
        )

    tsquery = cast(_param("search_tsquery", query_terms, facets), TSQUERY)
    # For rare words: every index row GIN finds, newest first, then each one's product (so
    # the products looked up are those of the `limit` newest matches, about).
    with_words = (
        select(_pg_table)
        .where(
            getattr(func, PG_PREFIXES)(*texts, _pg_table.c[FACETS]).op("@@")(tsquery),
            *_has_terms(texts, words_),
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
    """Rebuild the whole index and its vocabulary (after a bulk import, or when what a
    document holds has changed). Returns the number of products indexed."""
    db.session.execute(delete(_pg_table if _is_postgres() else _sqlite_table))
    db.session.execute(delete(_vocabulary))
    if not _is_postgres():
        db.session.execute(delete(_trigrams))
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


# --- typos ---------------------------------------------------------------------------------


def _known(term: Term) -> bool:
    """Whether some indexed word starts with the term's word or one of its stems (a word
    out of the vocabulary's alphabet is taken as known: it is never corrected). One look at
    the vocabulary's primary key for each: the first word from there on."""
    if not _VOCABULARY_WORD.fullmatch(term.word):
        return True
    for start in (term.word, *term.stems):
        first = db.session.scalar(
            select(_vocabulary.c.word)
            .where(_vocabulary.c.word >= start)
            .order_by(_vocabulary.c.word)
            .limit(1)
        )
        if first is not None and first.startswith(start):
            return True
    return False


def closest_word(word: str) -> str | None:
    """The vocabulary word most like this one (see the module's documentation), if any is
    at least SIMILARITY alike."""
    if len(word) < CORRECTED_CHARS or not _VOCABULARY_WORD.fullmatch(word):
        return None
    found: str | None = db.session.scalar(closest_statement(word))
    return found


def closest_statement(word: str) -> Select[Any]:
    """The statement `closest_word` runs: through pg_trgm's index on PostgreSQL, the
    trigrams' index on SQLite; its cost grows with the vocabulary's words that share a
    trigram with this one, never with the catalogue."""
    vocabulary = _vocabulary.c
    similarity: ColumnElement[Any]
    if _is_postgres():
        similarity = func.similarity(vocabulary.word, word)
        statement = select(vocabulary.word).where(
            vocabulary.word.op("%")(word), similarity >= _number(SIMILARITY)
        )
    else:
        grams = sorted(trigrams(word))
        shared = func.count()
        similarity = cast(shared, Float) / (vocabulary.trigrams + _number(len(grams)) - shared)
        statement = (
            select(vocabulary.word)
            .select_from(_trigrams)
            .join(_vocabulary, vocabulary.word == _trigrams.c.word)
            .where(_trigrams.c.trigram.in_(grams))
            .group_by(vocabulary.word, vocabulary.trigrams, vocabulary.products)
            .having(similarity >= _number(SIMILARITY))
        )
    return statement.order_by(similarity.desc(), vocabulary.products.desc(), vocabulary.word).limit(
        1
    )


def correction(terms: Sequence[Term]) -> list[str] | None:
    """The query's words with each unknown one replaced by the closest indexed word, or
    None when every word is known, or an unknown one has nothing close."""
    corrected: list[str] = []
    for term in terms:
        if _known(term):
            corrected.append(term.word)
            continue
        closest = closest_word(term.word)
        if closest is None:
            return None
        corrected.append(closest)
    if corrected == [term.word for term in terms]:
        return None
    return corrected


def init_app(app: Flask) -> None:
    @app.cli.group("search")
    def search_cli() -> None:
        """The search index."""

    @search_cli.command("reindex")
    def reindex() -> None:
        """Index every listed product again, and count the vocabulary again from them: after
        a bulk import, or an upgrade that changes what the index holds."""
        from app.uow import unit_of_work

        with unit_of_work():
            count = rebuild_index()
        click.echo(f"Indexed {count} listed product(s).")
