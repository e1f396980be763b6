"""search: the filters the index answers (a price band, a category) beside the words

Each row of `product_search` gets `facets`: tokens for the product's category (root and
leaf) and for its price's band and decade (see marketplace/search.py), filled here for every
indexed product from its row. A word with a price range or a category is then one look into
the index.

Every listed product's document is written again: its facets, and its texts, as irregular
plurals ("knives", "scarves", "travaux") now have their singular among their stems.

SQLite: the FTS5 table is made again with the fifth column, its tokenizer keeping "_" inside
a token (the facets' tokens start with it; words never contain it).

PostgreSQL: the GIN index is built on `product_search_lexemes(...)`, the word prefixes of
`product_search_prefixes` and the facets' tokens whole; the old function and index go. The
vocabulary's trigram index is written through (no pending list), as the products' is.

Revision ID: 0024_search_facets
Revises: 0023_returns
Create Date: 2026-12-08 01:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_search_facets"
down_revision = "0023_returns"
branch_labels = None
depends_on = None

PREFIX_CHARS = 6  # marketplace.search.PREFIX_CHARS when this was written
FIELDS = ("title", "tags", "shop_name", "description")
BATCH = 1000
SQLITE_PREFIXES = " ".join(str(n) for n in range(1, PREFIX_CHARS + 1))
SQLITE_OPTIONS = {
    "new": "tokenize = \"unicode61 remove_diacritics 2 tokenchars '_'\", "
    f"detail = none, prefix = '{SQLITE_PREFIXES}'",
    "old": "tokenize = 'unicode61 remove_diacritics 2', "
    f"detail = none, prefix = '{SQLITE_PREFIXES}'",
}

PG_FUNCTION = f"""
CREATE FUNCTION product_search_lexemes(
    title text, tags text, shop_name text, description text, facets text
) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    word text;
    lexemes text[] := '{{}}';
BEGIN
    FOREACH word IN ARRAY string_to_array(title || tags || shop_name || description, ' ') LOOP
        FOR n IN 1 .. least(length(word), {PREFIX_CHARS}) LOOP
            lexemes := lexemes || left(word, n);
        END LOOP;
    END LOOP;
    FOREACH word IN ARRAY string_to_array(facets, ' ') LOOP
        IF word <> '' THEN
            lexemes := lexemes || word;
        END IF;
    END LOOP;
    RETURN array_to_tsvector(lexemes);
END
$$
"""
PG_OLD_FUNCTION = f"""
CREATE FUNCTION product_search_prefixes(title text, tags text, shop_name text, description text)
RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    word text;
    lexemes text[] := '{{}}';
BEGIN
    FOREACH word IN ARRAY string_to_array(title || tags || shop_name || description, ' ') LOOP
        FOR n IN 1 .. least(length(word), {PREFIX_CHARS}) LOOP
            lexemes := lexemes || left(word, n);
        END LOOP;
    END LOOP;
    RETURN array_to_tsvector(lexemes);
END
$$
"""
PG_INDEX = (
    "CREATE INDEX ix_product_search_lexemes ON product_search USING gin "
    "(product_search_lexemes(title, tags, shop_name, description, facets)) "
    "WITH (fastupdate = off)"
)
PG_OLD_INDEX = (
    "CREATE INDEX ix_product_search_prefixes ON product_search USING gin "
    "(product_search_prefixes(title, tags, shop_name, description)) WITH (fastupdate = off)"
)

VOCABULARY_INDEX = "ix_product_search_words_trigrams"

_products = sa.table(
    "products",
    sa.column("id", sa.Integer),
    sa.column("shop_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("tags", sa.String),
    sa.column("description", sa.String),
    sa.column("listed", sa.Boolean),
    sa.column("price_minor", sa.Integer),
    sa.column("category", sa.String),
)
_shops = sa.table("shops", sa.column("id", sa.Integer), sa.column("name", sa.String))


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def _reindex(key, with_facets=True):
    """Every listed product's document written again, with its facets (the texts change too:
    irregular plurals now have their singular among their stems). The vocabulary, which
    holds the words and not the stems, is unchanged."""
    from marketplace.search import document, facets

    connection = op.get_bind()
    columns = (*FIELDS, "facets") if with_facets else FIELDS
    index = sa.table("product_search", sa.column(key, sa.Integer), *map(sa.column, columns))
    connection.execute(index.delete())
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
            return
        connection.execute(
            index.insert(),
            [
                {
                    key: row.id,
                    **document(row, row.shop_name),
                    **({"facets": facets(row.price_minor, row.category)} if with_facets else {}),
                }
                for row in rows
            ],
        )
        last_id = rows[-1].id


def _sqlite_rebuild(options, with_facets):
    columns = ", ".join(FIELDS)
    new_columns = f"{columns}, facets" if with_facets else columns
    op.execute("DROP TABLE product_search")
    op.execute(f"CREATE VIRTUAL TABLE product_search USING fts5({new_columns}, {options})")


def upgrade():
    if not _postgres():
        _sqlite_rebuild(SQLITE_OPTIONS["new"], with_facets=True)
        _reindex("rowid")
        return
    op.execute("ALTER TABLE product_search ADD COLUMN facets text NOT NULL DEFAULT ''")
    op.execute("DROP INDEX ix_product_search_prefixes")
    _reindex("product_id")
    op.execute(PG_FUNCTION)
    op.execute(PG_INDEX)
    op.execute("DROP FUNCTION product_search_prefixes(text, text, text, text)")
    # A typo's look-up scanned the vocabulary's pending list, which grows between vacuums
    # (4.7 of the 5 ms of a look-up on 25,000 words): written through, like the index above.
    op.execute(f"ALTER INDEX {VOCABULARY_INDEX} SET (fastupdate = off)")
    op.execute(f"SELECT gin_clean_pending_list('{VOCABULARY_INDEX}')")


def downgrade():
    if not _postgres():
        _sqlite_rebuild(SQLITE_OPTIONS["old"], with_facets=False)
        _reindex("rowid", with_facets=False)
        return
    op.execute(f"ALTER INDEX {VOCABULARY_INDEX} RESET (fastupdate)")
    op.execute("DROP INDEX ix_product_search_lexemes")
    op.execute("DROP FUNCTION product_search_lexemes(text, text, text, text, text)")
    op.execute(PG_OLD_FUNCTION)
    op.execute(PG_OLD_INDEX)
    op.execute("ALTER TABLE product_search DROP COLUMN facets")
