"""SQLite persistence: every API object is a JSON document in one table.

One connection is shared by all threads (``check_same_thread=False``); callers serialise access
with the emulator's lock, and a request's writes happen inside one transaction so that an error
half-way through leaves no partial state.

The fields that objects are looked up by (a transfer's ``source_transaction``, a refund's
``charge``…, see ``INDEXED_FIELDS``) are copied into ``object_fields``, written with the object
in the same transaction, so that a lookup reads the matching rows only instead of decoding every
object of the type. What a charge has funded in transfers is kept as a running total beside it
(``source_transfers``): checking a new transfer against it costs the same with one transfer
or a hundred thousand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
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

# Kept by the store itself from the objects; an older state file gets them filled on opening.
DERIVED_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS object_fields ("
    " id TEXT NOT NULL, type TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (id, field))",
    "CREATE INDEX IF NOT EXISTS object_fields_value ON object_fields (type, field, value)",
    "CREATE TABLE IF NOT EXISTS source_transfers ("
    " charge TEXT PRIMARY KEY, amount INTEGER NOT NULL)",
)

TABLES = (
    "objects",
    "object_fields",
    "source_transfers",
    "ledger",
    "timers",
    "idempotency",
    "deliveries",
    "delivery_attempts",
    "meta",
)

# The fields each type of object is looked up by (equality, non-empty string values only).
INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    "balance_transaction": ("source", "type"),
    "charge": ("payment_intent", "transfer_group"),
    "checkout.session": ("payment_intent",),
    "dispute": ("charge", "payment_intent"),
    "emulator.account_link": ("account",),
    "refund": ("charge", "payment_intent"),
    "transfer": ("destination", "source_transaction", "transfer_group"),
    "transfer_reversal": ("transfer",),
}


def given(fields: Mapping[str, str | None]) -> dict[str, str]:
    """The fields a lookup was given a value for (a list's filters left out are not)."""
    return {name: value for name, value in fields.items() if value}


_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}


class NotIndexed(ValueError):
    """A lookup by a field the store keeps no index of (a programming error)."""


@dataclass(frozen=True)
class Selection:
    """Which objects a lookup wants: a type, an account (None: any), equal indexed fields,
    and a last test in Python for what no index says."""

    type: str
    account: str | None = None
    match: Mapping[str, str] = field(default_factory=dict)
    where: Callable[[dict[str, Any]], bool] | None = None


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (see transaction()).
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        else:
            # A database in memory lives wholly in SQLite's page cache, and a commit after a
            # page split (random ids split pages all over) scans the cache's whole hash table:
            # with 4 KB pages a request cost twice as much at 10,000 accounts as at 1,000.
            # Four times fewer pages make that scan, and the splits, rarer and cheaper.
            self.conn.execute("PRAGMA page_size = 16384")
        self._depth = 0
        self._upgrade()
        self.conn.executescript(SCHEMA)
        for statement in DERIVED_SCHEMA:
            self.conn.execute(statement)

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
        with self.transaction():
            # Inside the write lock: of two processes opening an old file, one fills them.
            tables = {r["name"] for r in self.conn.execute("SELECT name FROM sqlite_master")}
            if "objects" in tables and "object_fields" not in tables:
                for statement in DERIVED_SCHEMA:
                    self.conn.execute(statement)
                self._derive_all()

    def _derive_all(self) -> None:
        """Fill the derived tables from every object (once, for a file from before them)."""
        self.conn.execute("DELETE FROM object_fields")
        self.conn.execute("DELETE FROM source_transfers")
        types = list(INDEXED_FIELDS)
        marks = ", ".join("?" for _ in types)
        rows = self.conn.execute(
            f"SELECT type, data FROM objects WHERE type IN ({marks})",  # noqa: S608 - only marks
            types,
        ).fetchall()
        for row in rows:
            obj = json.loads(row["data"])
            self._index(obj, row["type"])
            if row["type"] == "transfer" and obj.get("source_transaction"):
                self.add_source_transfer(obj["source_transaction"], int(obj["amount"]))

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

    def get_owned(self, obj_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The object and the account it belongs to, in one read."""
        row = self.conn.execute(
            "SELECT data, account FROM objects WHERE id = ?", (obj_id,)
        ).fetchone()
        return (json.loads(row["data"]), row["account"]) if row else (None, None)

    def account_of(self, obj_id: str) -> str | None:
        row = self.conn.execute("SELECT account FROM objects WHERE id = ?", (obj_id,)).fetchone()
        return row["account"] if row else None

    def insert(self, obj: dict[str, Any], *, type: str, account: str) -> dict[str, Any]:
        self.conn.execute(
            "INSERT INTO objects (id, type, account, created, data) VALUES (?, ?, ?, ?, ?)",
            (obj["id"], type, account, int(obj.get("created") or 0), json.dumps(obj)),
        )
        self._index(obj, type)
        return obj

    def save(self, obj: dict[str, Any]) -> dict[str, Any]:
        row = self.conn.execute(
            "UPDATE objects SET data = ? WHERE id = ? RETURNING type", (json.dumps(obj), obj["id"])
        ).fetchone()
        if row is not None and row["type"] in INDEXED_FIELDS:
            # An indexed field may have changed (a session gets its payment intent).
            self.conn.execute("DELETE FROM object_fields WHERE id = ?", (obj["id"],))
            self._index(obj, row["type"])
        return obj

    def delete(self, obj_id: str) -> None:
        self.conn.execute("DELETE FROM objects WHERE id = ?", (obj_id,))
        self.conn.execute("DELETE FROM object_fields WHERE id = ?", (obj_id,))

    def _index(self, obj: dict[str, Any], type: str) -> None:
        rows = [
            (obj["id"], type, name, value)
            for name in INDEXED_FIELDS.get(type, ())
            if isinstance(value := obj.get(name), str) and value
        ]
        if rows:
            self.conn.executemany(
                "INSERT INTO object_fields (id, type, field, value) VALUES (?, ?, ?, ?)", rows
            )

    def query(
        self,
        type: str,
        account: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
        *,
        match: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a type, newest first (ties broken by insertion order, like Stripe).

        ``match`` narrows by indexed fields (see ``INDEXED_FIELDS``) in SQL, so only the
        matching objects are read; ``where`` then filters what was read.
        """
        return list(self.scan(Selection(type, account, match or {}, where)))

    def scan(
        self,
        selection: Selection,
        *,
        after: str | None = None,
        before: str | None = None,
        created: Mapping[str, int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The selected objects one by one, decoded as they are read: newest first, from just
        after the object ``after`` (in that order); or, with ``before``, oldest first from just
        before (newer than) that object. ``created`` bounds the creation time (``gt``,
        ``gte``, ``lt``, ``lte``, ``eq``)."""
        sql, args = self._selection_sql(selection, created)
        cursor = after or before
        if cursor is not None:
            position = self.conn.execute(
                "SELECT created, seq FROM objects WHERE id = ?", (cursor,)
            ).fetchone()
            if position is None:
                return
            side = "<" if after is not None else ">"
            sql += f" AND (o.created {side} ? OR (o.created = ? AND o.seq {side} ?))"
            args += [position["created"], position["created"], position["seq"]]
        order = "DESC" if before is None else "ASC"
        sql += f" ORDER BY o.created {order}, o.seq {order}"
        for row in self.conn.execute(sql, args):
            obj = json.loads(row["data"])
            if selection.where is None or selection.where(obj):
                yield obj

    def selects(
        self, selection: Selection, obj_id: str, *, created: Mapping[str, int] | None = None
    ) -> bool:
        """Whether the object ``obj_id`` is one of the selection's (created within bounds)."""
        sql, args = self._selection_sql(selection, created)
        row = self.conn.execute(sql + " AND o.id = ?", [*args, obj_id]).fetchone()
        return row is not None and (
            selection.where is None or selection.where(json.loads(row["data"]))
        )

    def _selection_sql(
        self, selection: Selection, created: Mapping[str, int] | None = None
    ) -> tuple[str, list[Any]]:
        sql = "SELECT o.data FROM objects o WHERE o.type = ?"
        args: list[Any] = [selection.type]
        for op, bound in (created or {}).items():
            sql += f" AND o.created {_COMPARISONS[op]} ?"
            args.append(bound)
        if selection.account is not None:
            sql += " AND o.account = ?"
            args.append(selection.account)
        indexed = INDEXED_FIELDS.get(selection.type, ())
        for name, value in selection.match.items():
            if name not in indexed:
                raise NotIndexed(f"{selection.type} objects are not indexed by {name!r}")
            sql += (
                " AND o.id IN (SELECT f.id FROM object_fields f"
                " WHERE f.type = ? AND f.field = ? AND f.value = ?)"
            )
            args += [selection.type, name, value]
        return sql, args

    # -- what charges have funded --------------------------------------------------------------

    def add_source_transfer(self, charge_id: str, amount: int) -> None:
        """Count a transfer against the charge it was funded by (its source_transaction)."""
        self.conn.execute(
            "INSERT INTO source_transfers (charge, amount) VALUES (?, ?)"
            " ON CONFLICT(charge) DO UPDATE SET amount = amount + excluded.amount",
            (charge_id, amount),
        )

    def source_transferred(self, charge_id: str) -> int:
        """What transfers funded by this charge add up to."""
        row = self.conn.execute(
            "SELECT amount FROM source_transfers WHERE charge = ?", (charge_id,)
        ).fetchone()
        return int(row["amount"]) if row else 0

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

    def has_due_timers(self, now: int) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM timers WHERE due_at <= ? LIMIT 1", (now,)).fetchone()
            is not None
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
