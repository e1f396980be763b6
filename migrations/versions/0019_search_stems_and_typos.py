"""search: stems in the documents, a vocabulary of the indexed words for typos

The documents now hold, after each field's words, the English and French stems of those
words (see marketplace/search.py), so every listed product is indexed again. The
vocabulary (`product_search_words`: each indexed word, how many products have it, how many
trigrams it has) is filled from the same documents. Typos are corrected from it: on
PostgreSQL with pg_trgm, through a trigram GIN index on the words (kept in byte order,
COLLATE "C", so that a word's prefix is one range of the primary key, as on SQLite); on SQLite
through `product_search_trigrams`, each word's trigrams indexed by trigram.

Revision ID: 0019_search_stems_and_typos
Revises: 0018_picture_sizes
Create Date: 2026-12-07 21:30:00.000000

"""

from collections import Counter

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_search_stems_and_typos"
down_revision = "0018_picture_sizes"
branch_labels = None
depends_on = None

FIELDS = ("title", "tags", "shop_name", "description")
BATCH = 1000

_products = sa.table(
    "products",
    sa.column("id", sa.Integer),
    sa.column("shop_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("tags", sa.String),
    sa.column("description", sa.String),
    sa.column("listed", sa.Boolean),
)
_shops = sa.table("shops", sa.column("id", sa.Integer), sa.column("name", sa.String))


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgres():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE TABLE product_search_words ("
            'word text COLLATE "C" PRIMARY KEY, '
            "products integer NOT NULL, trigrams integer NOT NULL)"
        )
        op.execute(
            "CREATE INDEX ix_product_search_words_trigrams ON product_search_words "
            "USING gin (word gin_trgm_ops)"
        )
    else:
        op.execute(
            "CREATE TABLE product_search_words ("
            "word TEXT PRIMARY KEY, products INTEGER NOT NULL, trigrams INTEGER NOT NULL"
            ") WITHOUT ROWID"
        )
        op.execute(
            "CREATE TABLE product_search_trigrams ("
            "trigram TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY (trigram, word)"
            ") WITHOUT ROWID"
        )
    _reindex()


def _reindex():
    """Every listed product's document written again, and the vocabulary counted from them
    (what marketplace.search.rebuild_index does, on the migration's connection)."""
    from marketplace.search import document, trigram_rows, vocabulary_rows, vocabulary_words

    connection = op.get_bind()
    postgres = _postgres()
    key = "product_id" if postgres else "rowid"
    index = sa.table("product_search", sa.column(key, sa.Integer), *(sa.column(f) for f in FIELDS))
    connection.execute(index.delete())
    counts = Counter()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_products, _shops.c.name.label("shop_name"))
            .join(_shops, _shops.c.id == _products.c.shop_id)
            .where(_products.c.listed.is_(True), _products.c.id > last_id)
            .order_by(_products.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        documents = [{key: row.id, **document(row, row.shop_name)} for row in rows]
        connection.execute(index.insert(), documents)
        for doc in documents:
            counts.update(vocabulary_words(doc[f] for f in FIELDS))
        last_id = rows[-1].id
    vocabulary = vocabulary_rows(counts)
    if vocabulary:
        words = sa.table(
            "product_search_words",
            sa.column("word", sa.String),
            sa.column("products", sa.Integer),
            sa.column("trigrams", sa.Integer),
        )
        connection.execute(words.insert(), vocabulary)
        if not postgres:
            grams = sa.table("product_search_trigrams", sa.column("trigram"), sa.column("word"))
            connection.execute(grams.insert(), trigram_rows(row["word"] for row in vocabulary))


def downgrade():
    op.execute("DROP TABLE product_search_words")
    if not _postgres():
        op.execute("DROP TABLE product_search_trigrams")
    # The documents keep their stems: the searches of 0012 find what they found, and more.
