"""Engine set-up per backend.

SQLite runs in WAL mode with a busy timeout, and a transaction that will write takes the
write lock up front (`BEGIN IMMEDIATE`): two requests writing at once then queue on the lock
instead of one failing half-way with "database is locked" when it upgrades a read lock.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 15_000

# Whether the transaction about to begin will write. Set by the unit of work.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


@contextmanager
def intent(write: bool) -> Iterator[None]:
    token = write_intent.set(write)
    try:
        yield
    finally:
        write_intent.reset(token)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        _literal_limits(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def _literal_limits(engine: Engine) -> None:
    """On PostgreSQL, a LIMIT or OFFSET given as a plain number is written into the SQL.

    As a parameter, it hides from the planner how many rows a query wants, so the plan it
    could keep for a prepared statement (psycopg prepares what runs often) looks costlier
    than a fresh one and PostgreSQL plans again on every run: measured on the storefront's
    listings, planning cost three times the query itself. Written in, a page size or offset
    is one of a few values, each with its own prepared statement and kept plan. A limit that
    a statement binds itself (`bindparam`) stays a parameter: the feed's LATERAL reads
    measured faster with the plan PostgreSQL keeps for any limit. SQLAlchemy's
    compiled-statement cache is unchanged (the numbers are filled in on execution).
    """
    base = engine.dialect.statement_compiler

    class LiteralLimitCompiler(base):  # type: ignore[valid-type,misc]
        def limit_clause(self, select: Any, **kw: Any) -> str:
            # PostgreSQL's own limit_clause, with plain numbers rendered on execution.
            def number(clause: Any) -> str:
                literal = select._simple_int_clause(clause) or kw.get("literal_execute", False)
                return str(self.process(clause, **{**kw, "literal_execute": literal}))

            text = ""
            if select._limit_clause is not None:
                text += " \n LIMIT " + number(select._limit_clause)
            if select._offset_clause is not None:
                if select._limit_clause is None:
                    text += "\n LIMIT ALL"
                text += " OFFSET " + number(select._offset_clause)
            return text

    engine.dialect.statement_compiler = LiteralLimitCompiler


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: leave alone the tables a feature builds by hand and no model describes
    (e.g. a full-text index: an FTS5 virtual table and its shadow tables on SQLite), as listed
    in the metadata's info["unmanaged_tables"]. Used by autogenerate and the schema test."""
    if type_ != "table" or not name:
        return True
    from app.extensions import db

    unmanaged = db.metadata.info.get("unmanaged_tables", ())
    return not any(name == table or name.startswith(f"{table}_") for table in unmanaged)


def for_update(query: Any, *, skip_locked: bool = False) -> Any:
    """Lock the selected rows until the transaction ends (SELECT … FOR UPDATE).

    Only PostgreSQL needs it: SQLite's write transactions take the database's write lock up
    front (BEGIN IMMEDIATE), so they are serial already. `skip_locked` lets two workers share
    a queue of rows, each taking what the other does not hold.
    """
    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return query
    return query.with_for_update(skip_locked=skip_locked)


_KEPT_STATEMENTS: dict[Any, Any] = {}
# Keys with many values (a search's shape: its words, filters, order and page) are bounded:
# past this many statements, the oldest kept is let go.
KEPT_MAX = 1_000
_KEPT_LOCK = threading.Lock()  # taken on a miss only: a request's threads share the dict


def kept_statement(key: Any, build: Callable[[], Any]) -> Any:
    """A statement built once and kept, for the queries every page runs.

    Building a statement with its joins and loader options, and working out its cache key
    (SQLAlchemy's compiled-statement cache is keyed on it), can cost more than running it;
    a kept statement pays both once. What differs between requests must be a `bindparam`
    passed on execution, and `key` must name everything else the statement was built from
    (a module-qualified name, plus e.g. the database dialect when the SQL depends on it).
    """
    statement = _KEPT_STATEMENTS.get(key)
    if statement is None:
        statement = build()
        with _KEPT_LOCK:
            while len(_KEPT_STATEMENTS) >= KEPT_MAX:
                del _KEPT_STATEMENTS[next(iter(_KEPT_STATEMENTS))]
            statement = _KEPT_STATEMENTS.setdefault(key, statement)
    return statement
