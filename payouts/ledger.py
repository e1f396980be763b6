"""The double-entry ledger: balanced, append-only, idempotent.

Every journal entry has lines that sum to zero per currency; nothing is updated or deleted
(a mistake is fixed by a new entry); every entry carries a unique idempotency key taken from
what caused it (the Stripe event, the payout item, the refund), so posting twice is a no-op.

Accounts are named by codes, so the ledger knows nothing of users or shops:
  platform:stripe_balance   asset     the platform's balance at Stripe
  platform:fee_revenue      income    platform fees earned
  platform:stripe_fees      expense   Stripe's processing (and dispute) fees
  platform:disputed         asset     money withheld by Stripe while a dispute is open
  payee:<who>:pending       liability earnings not yet released
  payee:<who>:available     liability earnings released and not yet paid out
Amounts are signed: a debit is positive, a credit negative. `balance()` reports an account in
its natural sign (what a payee is owed is positive).

Posting is close to raw SQL: `post` writes an entry in two statements (the entry, its lines)
on accounts the process has met, and `post_many` a batch in four or five whatever its size.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from flask import current_app
from sqlalchemy import (
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    event,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.database import kept_statement
from app.extensions import db
from app.models import utcnow
from payouts.models import AccountKind, JournalEntry, JournalLine, LedgerAccount

STRIPE_BALANCE = "platform:stripe_balance"
FEE_REVENUE = "platform:fee_revenue"
STRIPE_FEES = "platform:stripe_fees"
# Money Stripe withheld from our balance for an open dispute (it returns if we win).
DISPUTED = "platform:disputed"
# Money refunded at Stripe by no intent of ours, held until an admin books or absorbs it.
HELD_REFUNDS = "platform:held_refunds"

# The tables, for the statements written in Core below.
_ENTRIES = cast(Table, JournalEntry.__table__)
_LINES = cast(Table, JournalLine.__table__)
_ACCOUNTS = cast(Table, LedgerAccount.__table__)

_PLATFORM_KINDS = {
    STRIPE_BALANCE: AccountKind.ASSET,
    FEE_REVENUE: AccountKind.INCOME,
    STRIPE_FEES: AccountKind.EXPENSE,
    DISPUTED: AccountKind.ASSET,
    HELD_REFUNDS: AccountKind.ASSET,
}


class LedgerError(Exception):
    pass


def pending(payee: str) -> str:
    return f"payee:{payee}:pending"


def available(payee: str) -> str:
    return f"payee:{payee}:available"


def _kind_of(code: str) -> str:
    if code in _PLATFORM_KINDS:
        return _PLATFORM_KINDS[code]
    if code.startswith("payee:"):
        return AccountKind.LIABILITY
    raise LedgerError(f"unknown ledger account {code!r}")


@dataclass(frozen=True)
class Leg:
    account: str
    amount: int  # debit positive, credit negative


def debit(account: str, amount: int) -> Leg:
    return Leg(account, amount)


def credit(account: str, amount: int) -> Leg:
    return Leg(account, -amount)


@dataclass(frozen=True)
class Posting:
    """One entry of a batch given to `post_many`: what `post` takes, as a value."""

    key: str
    kind: str
    legs: Sequence[Leg]
    memo: str = ""
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PostedEntry:
    """A journal entry as posted: what `post` returns. It is not the ORM's JournalEntry (the
    session would cost a post as much again to hold one); load that by `id` if you need it."""

    id: int
    idempotency_key: str
    kind: str
    memo: str
    created_at: datetime
    legs: Mapping[str, int]  # amount by account code, debit positive


class _Entry(NamedTuple):
    """An entry checked and ready to write: its legs merged, nonzero, in account order."""

    key: str
    kind: str
    memo: str
    currency: str
    legs: dict[str, int]


def _checked(key: str, kind: str, legs: Sequence[Leg], memo: str, currency: str | None) -> _Entry:
    """The entry, or LedgerError when it cannot be posted: every check that needs no database.

    Legs on the same account are merged and zero legs dropped; an entry must still have at
    least two legs, sum to zero, and name only accounts the ledger knows.
    """
    merged: dict[str, int] = {}
    for leg in legs:
        merged[leg.account] = merged.get(leg.account, 0) + leg.amount
    nonzero = {code: merged[code] for code in sorted(merged) if merged[code]}
    if sum(nonzero.values()) != 0:
        raise LedgerError(f"entry {key!r} does not balance: {dict(merged)}")
    if len(nonzero) < 2:
        raise LedgerError(f"entry {key!r} moves nothing")
    for code in nonzero:
        _kind_of(code)
    return _Entry(
        key, kind, memo[:300], (currency or current_app.config["CURRENCY"]).lower(), nonzero
    )


# --- statements
#
# A post is two statements, and what SQLAlchemy's Core adds to each (finding the compiled
# form, processing every parameter) costs as much as SQLite's own work on it. So the
# statements of a post are compiled once per dialect and shape and sent as the driver's own
# SQL (through the connection, so its events still see them). A batch's statements take the
# whole batch in one go: on PostgreSQL, arrays unnested (the SQL stays short, so the driver
# and the server keep it prepared); on SQLite, through SQLAlchemy's "insertmanyvalues" (one
# multi-row INSERT per _BATCH rows).

# Rows per multi-row INSERT, and values per IN list: far below what either database accepts
# in one statement, far above the entries a caller posts at once.
_BATCH = 5_000
# Legs up to which a post's statements have a fixed shape (above, they are built each time).
_FIXED_MAX = 16


class _Sent:
    """A Core statement compiled once for a dialect and sent as the driver's own SQL, with
    its parameters' types applied (a timestamp becomes what the driver stores)."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positions: Sequence[str] | None = compiled.positiontup
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def run(self, connection: Connection, params: dict[str, Any]) -> CursorResult[Any]:
        for name, process in self.processors.items():
            params[name] = process(params[name])
        if self.positions is None:
            return connection.exec_driver_sql(self.sql, params)
        return connection.exec_driver_sql(self.sql, tuple([params[n] for n in self.positions]))


_SENT: dict[tuple[Any, ...], _Sent] = {}


def _sent(connection: Connection, key: tuple[Any, ...], build: Callable[[], Any]) -> _Sent:
    dialect = connection.dialect
    full = (*key, dialect.name, dialect.driver)
    found = _SENT.get(full)
    if found is None:
        if len(_SENT) > 200:  # shapes are few; a runaway of them must not grow without end
            _SENT.clear()
        found = _SENT.setdefault(full, _Sent(build(), dialect))
    return found


def _postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _upsert(connection: Connection) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT … DO NOTHING (both ours have it)."""
    return postgresql_insert if _postgresql(connection) else sqlite_insert


def _one_of(connection: Connection, query: Select[Any], column: Any, name: str) -> Select[Any]:
    """`query` limited to the rows whose `column` is in the list given as parameter `name`.

    On PostgreSQL, the list is an array, joined unnested: each value is then looked up in the
    column's index, where `column = ANY(array)` may be planned as a scan comparing every row
    with every value (it was, on a journal too young for statistics: a batch's keys cost a
    tenth of a second at twelve thousand entries)."""
    if _postgresql(connection):
        listed = (
            func.unnest(bindparam(name, type_=postgresql.ARRAY(column.type)))
            .table_valued("value")
            .render_derived()
        )
        return query.join(listed, column == listed.c.value)
    return query.where(column.in_(bindparam(name, expanding=True)))


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


# --- accounts: codes to ids, known per process
#
# Accounts are never changed nor deleted, so an id once read stays right for the life of the
# database. But not always for the life of the process: an account made by a transaction that
# then rolled back never existed (and SQLite may give its id to the next account made), and
# the tests and the money simulation empty or rewind the tables under a running app. So an id
# taken from this cache is never trusted blindly: `post` checks, in the very statement that
# writes the entry, that each (id, code) it took from here is in the database, and writes
# nothing when one is not (then forgets what it knew and reads the accounts again). Ids read
# from the database by the current call are right by construction, and `post_many` reads
# all of its own.

_KNOWN: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()
# Past this many accounts, forget them all and learn again (the cache is only a shortcut).
_KNOWN_MAX = 100_000


def _known(engine: Engine) -> dict[str, int]:
    known = _KNOWN.get(engine)
    if known is None or len(known) > _KNOWN_MAX:
        known = _KNOWN[engine] = {}
    return known


def _forget(engine: Engine) -> None:
    _KNOWN.pop(engine, None)


def _read_accounts(connection: Connection, currencies: Mapping[str, str]) -> dict[str, int]:
    """The ids of the accounts named by `currencies` (code → currency of a new account),
    making the missing ones. Two transactions making the same account at once both get it:
    the second waits for the first and makes nothing."""
    table = _ACCOUNTS
    dialect = connection.dialect.name
    codes = list(currencies)
    read = kept_statement(
        ("payouts.ledger.read_accounts", dialect),
        lambda: _one_of(connection, select(table.c.code, table.c.id), table.c.code, "codes"),
    )
    ids: dict[str, int] = {}
    for chunk in _chunks(codes):
        ids.update(connection.execute(read, {"codes": list(chunk)}).all())
    missing = [code for code in codes if code not in ids]
    if missing:
        make = kept_statement(
            ("payouts.ledger.make_accounts", dialect),
            lambda: (
                _upsert(connection)(table)
                .on_conflict_do_nothing(index_elements=[table.c.code])
                .returning(table.c.code, table.c.id)
                .execution_options(insertmanyvalues_page_size=_BATCH)
            ),
        )
        now = utcnow()
        made = connection.execute(
            make,
            [
                {
                    "code": code,
                    "kind": _kind_of(code),
                    "currency": currencies[code],
                    "created_at": now,
                }
                for code in missing
            ],
        ).all()
        ids.update(made)
        # Made meanwhile by another transaction, which has committed (we waited for it).
        raced = [code for code in missing if code not in ids]
        for chunk in _chunks(raced):
            ids.update(connection.execute(read, {"codes": list(chunk)}).all())
    if len(ids) != len(codes):  # pragma: no cover - an account is never deleted
        raise LedgerError(f"ledger accounts vanished: {sorted(set(codes) - set(ids))}")
    _known(connection.engine).update(ids)
    return ids


def _account_ids(
    connection: Connection, entry: _Entry, *, trust_cache: bool
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """The entry's account ids, and those of them taken from the cache (to be checked)."""
    known = _known(connection.engine) if trust_cache else {}
    ids: dict[str, int] = {}
    unchecked: list[tuple[int, str]] = []
    missing: dict[str, str] = {}
    for code in entry.legs:
        account_id = known.get(code)
        if account_id is None:
            missing[code] = entry.currency
        else:
            ids[code] = account_id
            unchecked.append((account_id, code))
    if len(unchecked) > _FIXED_MAX:
        # Too many to check in the entry's statement: read them all instead.
        missing = {code: entry.currency for code in entry.legs}
        unchecked = []
    if missing:
        ids.update(_read_accounts(connection, missing))
    return ids, unchecked


def account(code: str, currency: str | None = None) -> LedgerAccount:
    """The account with this code, created on first use."""
    _kind_of(code)
    currency = (currency or current_app.config["CURRENCY"]).lower()
    db.session.flush()
    account_id = _read_accounts(db.session.connection(), {code: currency})[code]
    found = db.session.get(LedgerAccount, account_id)
    assert found is not None
    return found


# --- posting


def post(
    key: str,
    kind: str,
    legs: Sequence[Leg],
    *,
    memo: str = "",
    currency: str | None = None,
) -> PostedEntry:
    """Post a balanced entry once: a second post with the same key returns the first entry
    (and one with other amounts is a LedgerError).

    Legs on the same account are merged and zero legs dropped; an entry must still have at
    least two legs and sum to zero. On accounts this process has met before, a post is two
    statements: the entry's INSERT (which checks those accounts and skips a key already
    posted) and one multi-row INSERT of its lines.
    """
    entry = _checked(key, kind, legs, memo, currency)
    session = db.session()
    # What the caller changed is written first, as the ORM would before any statement of ours.
    session.flush()
    connection = session.connection()
    for trust_cache in (True, False):
        ids, unchecked = _account_ids(connection, entry, trust_cache=trust_cache)
        now = utcnow()
        params: dict[str, Any] = {
            "key": entry.key,
            "kind": entry.kind,
            "memo": entry.memo,
            "created_at": now,
        }
        if unchecked:
            params["checked"] = len(unchecked)
        for n, (account_id, code) in enumerate(unchecked):
            params[f"id_{n}"] = account_id
            params[f"code_{n}"] = code
        entry_id = _entry_insert(connection, len(unchecked)).run(connection, params).scalar()
        if entry_id is not None:
            _insert_lines(connection, entry_id, entry, ids)
            return PostedEntry(entry_id, entry.key, entry.kind, entry.memo, now, entry.legs)
        found = _posted(connection, [entry.key]).get(entry.key)
        if found is not None:
            _same_or_fail(found, entry)
            return found
        # Neither written nor posted before: an account this process knew is not in the
        # database (see above). Forget them all and read them again.
        _forget(connection.engine)
    raise LedgerError(f"entry {key!r} could not be posted")  # pragma: no cover


def post_many(postings: Iterable[Posting]) -> list[int]:
    """Post a batch of entries, each once, as `post` would one by one: the ids of their
    entries, in the batch's order.

    Every entry is checked before any is written (balance, legs, accounts, a key posted before
    or twice in the batch with other amounts: LedgerError and nothing written). A key posted
    before with the same legs is left as it is. The batch costs four statements whatever its
    size (up to _BATCH entries): the keys posted before, the accounts, the entries, their
    lines; and one more to read the legs of keys that were posted before.
    """
    batch: dict[str, _Entry] = {}
    order: list[str] = []
    for posting in postings:
        entry = _checked(posting.key, posting.kind, posting.legs, posting.memo, posting.currency)
        seen = batch.setdefault(entry.key, entry)
        if seen.legs != entry.legs:
            raise LedgerError(
                f"entry {entry.key!r} is twice in the batch with other amounts: "
                f"{seen.legs} != {entry.legs}"
            )
        order.append(entry.key)
    if not batch:
        return []
    session = db.session()
    session.flush()
    connection = session.connection()
    posted = _posted(connection, list(batch))
    for key, found in posted.items():
        _same_or_fail(found, batch[key])
    entry_ids = {key: found.id for key, found in posted.items()}
    new = [entry for key, entry in batch.items() if key not in posted]
    if new:
        currencies: dict[str, str] = {}
        for entry in new:
            for code in entry.legs:
                currencies.setdefault(code, entry.currency)
        ids = _read_accounts(connection, currencies)
        inserted = _insert_entries(connection, new)
        _insert_many_lines(
            connection, [(inserted[e.key], e) for e in new if e.key in inserted], ids
        )
        entry_ids.update(inserted)
        # Posted meanwhile by another transaction, which has committed (we waited for it).
        raced = [entry for entry in new if entry.key not in inserted]
        if raced:
            posted = _posted(connection, [entry.key for entry in raced])
            for entry in raced:
                if entry.key not in posted:  # pragma: no cover - a journal entry stays
                    raise LedgerError(f"entry {entry.key!r} could not be posted")
                _same_or_fail(posted[entry.key], entry)
                entry_ids[entry.key] = posted[entry.key].id
    return [entry_ids[key] for key in order]


def _entry_insert(connection: Connection, checked: int) -> _Sent:
    """INSERT one entry, unless its key is posted already or one of `checked` accounts given
    as (id, code) pairs is not in the database; RETURNING its id when written."""

    def build() -> Any:
        entries = _ENTRIES
        accounts = _ACCOUNTS
        values = select(
            bindparam("key", type_=entries.c.idempotency_key.type),
            bindparam("kind", type_=entries.c.kind.type),
            bindparam("memo", type_=entries.c.memo.type),
            bindparam("created_at", type_=entries.c.created_at.type),
        )
        if checked:
            pairs = [
                and_(
                    accounts.c.id == bindparam(f"id_{n}", type_=accounts.c.id.type),
                    accounts.c.code == bindparam(f"code_{n}", type_=accounts.c.code.type),
                )
                for n in range(checked)
            ]
            found = select(func.count()).select_from(accounts).where(or_(*pairs))
            values = values.where(found.scalar_subquery() == bindparam("checked", type_=Integer()))
        return (
            _upsert(connection)(entries)
            .from_select(["idempotency_key", "kind", "memo", "created_at"], values)
            .on_conflict_do_nothing(index_elements=[entries.c.idempotency_key])
            .returning(entries.c.id)
        )

    return _sent(connection, ("entry", checked), build)


def _insert_lines(
    connection: Connection, entry_id: int, entry: _Entry, ids: Mapping[str, int]
) -> None:
    """The lines of the entry just written, in one multi-row INSERT."""
    count = len(entry.legs)
    if count > _FIXED_MAX:
        _insert_many_lines(connection, [(entry_id, entry)], ids)
        return
    lines = _LINES

    def build() -> Any:
        return insert(lines).values(
            [
                {
                    "entry_id": bindparam("entry_id", type_=lines.c.entry_id.type),
                    "account_id": bindparam(f"account_{n}", type_=lines.c.account_id.type),
                    "amount": bindparam(f"amount_{n}", type_=lines.c.amount.type),
                    "currency": bindparam("currency", type_=lines.c.currency.type),
                }
                for n in range(count)
            ]
        )

    params: dict[str, Any] = {"entry_id": entry_id, "currency": entry.currency}
    for n, (code, amount) in enumerate(entry.legs.items()):
        params[f"account_{n}"] = ids[code]
        params[f"amount_{n}"] = amount
    _sent(connection, ("lines", count), build).run(connection, params)


def _insert_entries(connection: Connection, new: Sequence[_Entry]) -> dict[str, int]:
    """INSERT the entries, skipping keys posted already: the key and id of each written."""
    entries = _ENTRIES
    now = utcnow()
    if _postgresql(connection):
        statement = kept_statement(
            ("payouts.ledger.insert_entries", "postgresql"),
            lambda: text(
                "INSERT INTO journal_entries (idempotency_key, kind, memo, created_at)"
                " SELECT batch.key, batch.kind, batch.memo, :created_at FROM unnest("
                "CAST(:keys AS VARCHAR[]), CAST(:kinds AS VARCHAR[]), CAST(:memos AS VARCHAR[])"
                ") AS batch (key, kind, memo)"
                " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, id"
            ).bindparams(bindparam("created_at", type_=entries.c.created_at.type)),
        )
        inserted: dict[str, int] = {}
        for chunk in _chunks(new):
            params = {
                "keys": [e.key for e in chunk],
                "kinds": [e.kind for e in chunk],
                "memos": [e.memo for e in chunk],
                "created_at": now,
            }
            inserted.update(connection.execute(statement, params).all())
        return inserted
    stamp = _bound(connection, entries.c.created_at, now)
    returned = _insert_values(
        connection,
        "INSERT INTO journal_entries (idempotency_key, kind, memo, created_at)",
        [(e.key, e.kind, e.memo, stamp) for e in new],
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, id",
    )
    return {row[0]: row[1] for row in returned}


def _insert_many_lines(
    connection: Connection, written: Sequence[tuple[int, _Entry]], ids: Mapping[str, int]
) -> None:
    """The lines of the entries just written, in one statement per _BATCH lines."""
    rows = [
        (entry_id, ids[code], amount, entry.currency)
        for entry_id, entry in written
        for code, amount in entry.legs.items()
    ]
    if not rows:
        return
    if _postgresql(connection):
        statement = kept_statement(
            ("payouts.ledger.insert_lines", "postgresql"),
            lambda: text(
                "INSERT INTO journal_lines (entry_id, account_id, amount, currency)"
                " SELECT * FROM unnest(CAST(:entry_ids AS INTEGER[]),"
                " CAST(:account_ids AS INTEGER[]), CAST(:amounts AS BIGINT[]),"
                " CAST(:currencies AS VARCHAR[]))"
            ),
        )
        for chunk in _chunks(rows):
            entry_ids, account_ids, amounts, currencies = zip(*chunk, strict=True)
            connection.execute(
                statement,
                {
                    "entry_ids": list(entry_ids),
                    "account_ids": list(account_ids),
                    "amounts": list(amounts),
                    "currencies": list(currencies),
                },
            )
        return
    _insert_values(
        connection, "INSERT INTO journal_lines (entry_id, account_id, amount, currency)", rows
    )


def _insert_values(
    connection: Connection, insert_into: str, rows: Sequence[tuple[Any, ...]], tail: str = ""
) -> list[Sequence[Any]]:
    """Multi-row INSERTs on SQLite, as many rows each as it takes parameters: the driver's
    own SQL (SQLAlchemy would process each row's parameters); what they return."""
    width = len(rows[0])
    per_statement = max(1, min(_BATCH, connection.dialect.insertmanyvalues_max_parameters // width))
    row = "(" + ", ".join(["?"] * width) + ")"
    returned: list[Sequence[Any]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join([row] * len(chunk))
        result = connection.exec_driver_sql(
            f"{insert_into} VALUES {values}{tail}", tuple(v for r in chunk for v in r)
        )
        if result.returns_rows:
            returned.extend(result.all())
    return returned


def _bound(connection: Connection, column: Any, value: Any) -> Any:
    """`value` as the driver takes it for `column` (a timestamp as SQLite stores it)."""
    dialect = connection.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


def _posted(connection: Connection, keys: Sequence[str]) -> dict[str, PostedEntry]:
    """The entries posted under these keys, by key.

    Their lines are read apart, and only when there are some: joined in one query, a planner
    short of statistics (a young journal) reads every line to find none."""
    entries, lines, accounts = _ENTRIES, _LINES, _ACCOUNTS
    dialect = connection.dialect.name
    read_entries = kept_statement(
        ("payouts.ledger.posted_entries", dialect),
        lambda: _one_of(
            connection,
            select(
                entries.c.id,
                entries.c.idempotency_key,
                entries.c.kind,
                entries.c.memo,
                entries.c.created_at,
            ),
            entries.c.idempotency_key,
            "keys",
        ),
    )
    read_legs = kept_statement(
        ("payouts.ledger.posted_legs", dialect),
        lambda: _one_of(
            connection,
            select(lines.c.entry_id, accounts.c.code, lines.c.amount).join(
                accounts, accounts.c.id == lines.c.account_id
            ),
            lines.c.entry_id,
            "ids",
        ),
    )
    found: dict[int, tuple[str, str, str, datetime, dict[str, int]]] = {}
    for chunk in _chunks(keys):
        for entry_id, key, kind, memo, created_at in connection.execute(
            read_entries, {"keys": list(chunk)}
        ):
            found[entry_id] = (key, kind, memo, created_at, {})
    for chunk in _chunks(list(found)):
        for entry_id, code, amount in connection.execute(read_legs, {"ids": list(chunk)}):
            found[entry_id][4][code] = amount
    return {
        key: PostedEntry(entry_id, key, kind, memo, created_at, legs)
        for entry_id, (key, kind, memo, created_at, legs) in found.items()
    }


def _same_or_fail(posted: PostedEntry, entry: _Entry) -> None:
    if dict(posted.legs) != entry.legs:
        raise LedgerError(
            f"entry {entry.key!r} was posted before with other amounts: "
            f"{dict(posted.legs)} != {entry.legs}"
        )


def entry_exists(key: str) -> bool:
    return (
        db.session.scalar(select(JournalEntry.id).where(JournalEntry.idempotency_key == key))
        is not None
    )


def raw_balance(code: str) -> int:
    """Sum of the account's lines (debit positive)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .where(LedgerAccount.code == code)
    )
    return int(total or 0)


def balance(code: str) -> int:
    """The account's balance in its natural sign (a payee's earnings are positive)."""
    raw = raw_balance(code)
    return -raw if _kind_of(code) in AccountKind.CREDIT_NORMAL else raw


def balances(codes: Iterable[str]) -> dict[str, int]:
    codes = list(codes)
    rows = db.session.execute(
        select(LedgerAccount.code, func.coalesce(func.sum(JournalLine.amount), 0))
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.code.in_(codes))
        .group_by(LedgerAccount.code)
    ).all()
    raw = {code: int(total) for code, total in rows}
    return {
        code: (
            -raw.get(code, 0) if _kind_of(code) in AccountKind.CREDIT_NORMAL else raw.get(code, 0)
        )
        for code in codes
    }


def unbalanced_entries() -> list[int]:
    """Ids of entries whose lines do not sum to zero (must always be empty)."""
    rows = db.session.execute(
        select(JournalLine.entry_id)
        .group_by(JournalLine.entry_id, JournalLine.currency)
        .having(func.sum(JournalLine.amount) != 0)
    ).all()
    return [row[0] for row in rows]


def trial_balance() -> int:
    """The sum of every line in the ledger: zero when every entry balances."""
    return int(db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))) or 0)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, JournalEntry | JournalLine) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise LedgerError("the ledger is append-only: post a correcting entry instead")
