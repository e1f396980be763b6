"""Engine set-up per backend.

SQLite runs in WAL mode with a busy timeout, and a transaction that will write takes the
write lock up front (`BEGIN IMMEDIATE`): two requests writing at once then queue on the lock
instead of one failing half-way with "database is locked" when it upgrades a read lock.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
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
