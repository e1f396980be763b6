"""journal: append-only on both engines (no UPDATE, no DELETE)

Revision ID: 0014_journal_append_only
Revises: 0013_money_races
Create Date: 2026-12-07 05:20:00.000000

0004 refused UPDATE of a journal row in the database and left DELETE open. A ledger that can
lose a row is not append-only: a mistake is fixed by a correcting entry, never by removing the
entry that was wrong. So the database refuses DELETE as well, on SQLite and PostgreSQL, and on
PostgreSQL also TRUNCATE, which removes rows without firing any row trigger (also when it
arrives by CASCADE from the ledger's accounts).

Emptying the journal is left to whoever can change the schema: the test suite's clean-up lifts
these triggers inside its own transaction and puts them back before it commits.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_journal_append_only"
down_revision = "0013_money_races"
branch_labels = None
depends_on = None

TABLES = ("journal_entries", "journal_lines")


def upgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"
            )
        elif dialect == "postgresql":
            # The function 0004 made raises whatever the operation; it serves row and
            # statement triggers alike.
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION kindred_ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION kindred_ledger_append_only()"
            )


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
