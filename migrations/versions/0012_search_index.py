"""search: a prefix index on both engines, the folded texts kept for ranking

Both engines keep each product's four folded texts with every word after a space
(" speckled stoneware mug"), so "a word starting with sto" is " sto" in the text.

SQLite: the FTS5 table gets a prefix index of every word's first 1..6 characters and drops
word positions (detail=none); its texts are copied over.

PostgreSQL: `product_search` keeps the texts instead of a tsvector, and the GIN index is built
on `product_search_prefixes(...)`: the tsvector of every word's first 1..6 characters, so each
query word is one lexeme. The index has no pending list (fastupdate off), which every search
would otherwise scan. The texts are recovered from the weighted tsvector they were indexed
as (A title, B tags, C shop name, D description): words keep their field but not their order,
which no search uses. Its scans are not run in parallel (workers cost more than they save on
a search's short scans).

Revision ID: 0012_search_index
Revises: 0011_cocreation
Create Date: 2026-11-22 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0012_search_index'
down_revision = '0011_cocreation'
branch_labels = None
depends_on = None

PREFIX_CHARS = 6  # marketplace.search.PREFIX_CHARS when this was written
FIELDS = ("title", "tags", "shop_name", "description")
WEIGHTS = ("A", "B", "C", "D")
TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"

PG_FUNCTION = f"""
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
    "CREATE INDEX ix_product_search_prefixes ON product_search USING gin "
    "(product_search_prefixes(title, tags, shop_name, description)) WITH (fastupdate = off)"
)


def _sqlite_rebuild(options, text):
    columns = ", ".join(FIELDS)
    texts = ", ".join(text.format(name) for name in FIELDS)
    op.execute(f"CREATE VIRTUAL TABLE product_search_new USING fts5({columns}, {options})")
    op.execute(
        f"INSERT INTO product_search_new (rowid, {columns}) "
        f"SELECT rowid, {texts} FROM product_search"
    )
    op.execute("DROP TABLE product_search")
    op.execute("ALTER TABLE product_search_new RENAME TO product_search")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        prefix = " ".join(str(n) for n in range(1, PREFIX_CHARS + 1))
        _sqlite_rebuild(
            f"{TOKENIZE}, detail = none, prefix = '{prefix}'",
            "CASE WHEN {0} = '' THEN '' ELSE ' ' || {0} END",
        )
        return
    op.drop_index('ix_product_search_document', table_name='product_search')
    for name in FIELDS:
        op.add_column('product_search', sa.Column(name, sa.Text(), nullable=False, server_default=''))
    texts = ", ".join(
        f"{name} = coalesce((SELECT string_agg(' ' || u.lexeme, '') FROM unnest(document) AS u "
        f"WHERE '{weight}' = ANY(u.weights)), '')"
        for name, weight in zip(FIELDS, WEIGHTS)
    )
    op.execute(f"UPDATE product_search SET {texts}")
    op.drop_column('product_search', 'document')
    for name in FIELDS:
        op.alter_column('product_search', name, server_default=None)
    op.execute(PG_FUNCTION)
    op.execute(PG_INDEX)
    # A search's scans are short: starting parallel workers for them costs more than it saves.
    op.execute("ALTER TABLE product_search SET (parallel_workers = 0)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_rebuild(TOKENIZE, "ltrim({0})")
        return
    op.execute("ALTER TABLE product_search RESET (parallel_workers)")
    op.execute("DROP INDEX ix_product_search_prefixes")
    op.execute("DROP FUNCTION product_search_prefixes(text, text, text, text)")
    op.add_column('product_search', sa.Column('document', postgresql.TSVECTOR(), nullable=False, server_default=''))
    vector = " || ".join(
        f"setweight(to_tsvector('simple', {name}), '{weight}')"
        for name, weight in zip(FIELDS, WEIGHTS)
    )
    op.execute(f"UPDATE product_search SET document = {vector}")
    op.alter_column('product_search', 'document', server_default=None)
    for name in FIELDS:
        op.drop_column('product_search', name)
    op.create_index('ix_product_search_document', 'product_search', ['document'], postgresql_using='gin')
