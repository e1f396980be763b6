"""SQLite persistence: every API object is a JSON document in one table.

One connection is shared by all threads (``check_same_thread=False``); callers serialise access
with the emulator's lock, and a request's writes happen inside one transaction so that an error
half-way through leaves no partial state.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    account TEXT NOT NULL,
    created INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_type_account ON objects (type, account);
CREATE TABLE IF NOT EXISTS ledger (
    txn_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    net INTEGER NOT NULL,
    available_on INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_account ON ledger (account, currency);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    due_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    request_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    in_progress INTEGER NOT NULL DEFAULT 0,
    claimed_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    in_flight INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

TABLES = ("objects", "ledger", "timers", "idempotency", "deliveries", "delivery_attempts", "meta")


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (see transaction()).
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self._upgrade()
        self.conn.executescript(SCHEMA)
        self._depth = 0

    def _upgrade(self) -> None:
        """Bring a state file written by an older emulator up to the current schema."""
        columns = {r["name"] for r in self.conn.execute("PRAGMA table_info(idempotency)")}
        if columns and "in_progress" not in columns:
            self.conn.execute(
                "ALTER TABLE idempotency ADD COLUMN in_progress INTEGER NOT NULL DEFAULT 0"
            )
            self.conn.execute(
                "ALTER TABLE idempotency ADD COLUMN claimed_at REAL NOT NULL DEFAULT 0"
            )

    def close(self) -> None:
        self.conn.close()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Nestable transaction: only the outermost level commits or rolls back."""
        outer = self._depth == 0
        if outer:
            self.conn.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if outer:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self._depth -= 1
            if outer:
                self.conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo only what the block wrote if it raises."""
        with self.transaction():
            self.conn.execute("SAVEPOINT block")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK TO block")
                self.conn.execute("RELEASE block")
                raise
            else:
                self.conn.execute("RELEASE block")

    def wipe(self) -> None:
        with self.transaction():
            for table in TABLES:
                self.conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    # -- objects ------------------------------------------------------------------------------

    def get(self, obj_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM objects WHERE id = ?", (obj_id,)).fetchone()
        return json.loads(row["data"]) if row else None

    def account_of(self, obj_id: str) -> str | None:
        row = self.conn.execute("SELECT account FROM objects WHERE id = ?", (obj_id,)).fetchone()
        return row["account"] if row else None

    def insert(self, obj: dict[str, Any], *, type: str, account: str) -> dict[str, Any]:
        self.conn.execute(
            "INSERT INTO objects (id, type, account, created, data) VALUES (?, ?, ?, ?, ?)",
            (obj["id"], type, account, int(obj.get("created") or 0), json.dumps(obj)),
        )
        return obj

    def save(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.conn.execute("UPDATE objects SET data = ? WHERE id = ?", (json.dumps(obj), obj["id"]))
        return obj

    def delete(self, obj_id: str) -> None:
        self.conn.execute("DELETE FROM objects WHERE id = ?", (obj_id,))

    def query(
        self,
        type: str,
        account: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a type, newest first (ties broken by insertion order, like Stripe)."""
        sql = "SELECT data FROM objects WHERE type = ?"
        args: list[Any] = [type]
        if account is not None:
            sql += " AND account = ?"
            args.append(account)
        sql += " ORDER BY created DESC, seq DESC"
        out = []
        for row in self.conn.execute(sql, args):
            obj = json.loads(row["data"])
            if where is None or where(obj):
                out.append(obj)
        return out

    # -- ledger -------------------------------------------------------------------------------

    def add_ledger(
        self, txn_id: str, account: str, currency: str, net: int, available_on: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO ledger (txn_id, account, currency, net, available_on)"
            " VALUES (?, ?, ?, ?, ?)",
            (txn_id, account, currency, net, available_on),
        )

    def balances(self, account: str, now: int) -> dict[str, tuple[int, int]]:
        """currency -> (available, pending) for an account at time ``now``."""
        rows = self.conn.execute(
            "SELECT currency,"
            " SUM(CASE WHEN available_on <= ? THEN net ELSE 0 END) AS available,"
            " SUM(CASE WHEN available_on > ? THEN net ELSE 0 END) AS pending"
            " FROM ledger WHERE account = ? GROUP BY currency ORDER BY currency",
            (now, now, account),
        ).fetchall()
        return {r["currency"]: (int(r["available"]), int(r["pending"])) for r in rows}

    # -- timers -------------------------------------------------------------------------------

    def add_timer(self, due_at: int, kind: str, ref: str) -> None:
        self.conn.execute(
            "INSERT INTO timers (due_at, kind, ref) VALUES (?, ?, ?)", (due_at, kind, ref)
        )

    def pop_due_timers(self, now: int) -> list[tuple[int, str, str]]:
        rows = self.conn.execute(
            "SELECT id, due_at, kind, ref FROM timers WHERE due_at <= ? ORDER BY due_at, id",
            (now,),
        ).fetchall()
        if rows:
            self.conn.execute("DELETE FROM timers WHERE due_at <= ?", (now,))
        return [(int(r["due_at"]), r["kind"], r["ref"]) for r in rows]

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
