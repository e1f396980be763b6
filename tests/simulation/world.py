"""The world every seed starts from, built once per process and restored before each seed.

Building it (people, shops, products, the pool's terms, Stripe onboarding, logged-in
browsers) is the same for every seed and costs more than a short history: so it is built
once, under a fixed clock and fixed ids, and each seed starts from a copy of it.

* SQLite: the database file is copied back with SQLite's backup API.
* PostgreSQL: the tables the world filled are emptied and filled again from the rows kept
  in memory, the other tables are emptied only if the seed wrote to them, and every
  sequence is set back, so the ids of a seed are the same whatever ran before it.
* The emulator keeps its state in an in-memory SQLite database: copied with the backup API.

What differs per seed (the products' prices, whether the second seller has set up payouts)
is drawn from the seed after the restore.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import MetaData, Table

from app.extensions import db, limiter
from app.uow import unit_of_work
from tests.conftest import KindredClient, _journal_unguarded, login
from tests.factories import MemberFactory, ProductFactory, ShopFactory, UserFactory
from tests.payouts.money import onboard

# Late in a month, so a few simulated days cross into the next and the pool has a month to
# distribute. Fixed: the same seed is the same history.
START = datetime(2031, 5, 29, 8, 0, tzinfo=UTC)

# Whether the second seller has set up payouts is drawn per seed; the world is built without.
LATE_SELLER = 1


def _to_login(response: Any) -> bool:
    return response.status_code in (302, 303) and "/login" in (
        response.headers.get("Location") or ""
    )


class SimulatedBrowser(KindredClient):
    """A logged-in browser whose CSRF token is fetched once per half hour of simulated time
    (the token stays valid for an hour), not once per form: one request less per post."""

    _token: tuple[str, float] | None = None

    def csrf_token(self) -> str:
        import time

        now = time.time()
        if self._token is None or not 0 <= now - self._token[1] < 1800:
            self._token = (super().csrf_token(), now)
        return self._token[0]

    # Who it logs in as, to log in again when its session has expired (simulated months go
    # by, past the session's lifetime), as a person would.
    email: str | None = None

    def post_form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        response = super().post_form(url, data, **kwargs)
        if url in ("/login", "/logout"):
            self._token = None  # a new session: the token of the old one is worthless
        elif self.email and _to_login(response):
            self._log_in_again()
            response = super().post_form(
                url, {**(data or {}), "csrf_token": self.csrf_token()}, **kwargs
            )
        return response

    def api(self, method: str, url: str, **kwargs: Any) -> Any:
        response = super().api(method, url, **kwargs)
        if self.email and response.status_code == 401:
            self._log_in_again()
            response = super().api(method, url, **kwargs)
        return response

    def _log_in_again(self) -> None:
        self._cookies.clear()  # type: ignore[attr-defined]
        self._token = None
        super().post_form("/login", {"login": self.email, "password": "correct horse battery"})
        self._token = None

    def save(self) -> None:
        self._saved = dict(self._cookies)  # type: ignore[attr-defined]
        self._saved_token = self._token

    def restore(self) -> None:
        """Back to the cookies it had when the world was built (a seed's flashes and
        session changes do not leak into the next seed)."""
        self._cookies.clear()  # type: ignore[attr-defined]
        self._cookies.update(self._saved)  # type: ignore[attr-defined]
        self._token = self._saved_token


@dataclass
class World:
    app: Flask
    emulator: Any
    buyers: list[int] = field(default_factory=list)
    curator: int = 0
    author: int = 0
    admin: int = 0
    members: list[int] = field(default_factory=list)
    shops: list[int] = field(default_factory=list)
    products: list[int] = field(default_factory=list)
    browsers: dict[str, SimulatedBrowser] = field(default_factory=dict)
    _database: Any = None
    _stripe: sqlite3.Connection | None = None

    @classmethod
    def of(cls, app: Flask, emulator: Any) -> World:
        """The process's world for this app, built on first use."""
        world = app.extensions.get("kindred_simulation_world")
        if world is None or world.emulator is not emulator:
            world = cls(app, emulator)
            world._build()
            app.extensions["kindred_simulation_world"] = world
        return world

    # --- building it, once ----------------------------------------------------------------

    def _build(self) -> None:
        from social import ideas
        from tests.payouts.test_stateful import _fresh_payments
        from tests.simulation.stripe_side import seeded_ids

        with time_machine.travel(START, tick=False), seeded_ids(0):
            _fresh_payments(self.app, self.emulator)
            limiter.reset()
            for factory in (UserFactory, ShopFactory, ProductFactory):
                factory.reset_sequence(0)
            buyers = [UserFactory(), UserFactory()]
            curator, author = UserFactory(), UserFactory()
            admin = UserFactory(is_admin=True)
            members = [MemberFactory(), MemberFactory()]
            shops = [
                ShopFactory(shipping_flat_minor=490, curator_commission_bps=1000),
                ShopFactory(shipping_flat_minor=0, curator_commission_bps=500),
                ShopFactory(shipping_flat_minor=350, curator_commission_bps=800),
            ]
            pooled = shops[2]
            with unit_of_work():
                ideas.update_terms(pooled.owner, pooled, ideas.TermsChange(pool_bps=500))
                ideas.name_member(pooled.owner, pooled, members[0], 2)
                ideas.name_member(pooled.owner, pooled, members[1], 1)
            products = [
                ProductFactory(shop=shop, price_minor=2500, stock=100_000)
                for shop in shops
                for _ in range(2)
            ]
            for person in (shops[0].owner, shops[2].owner, curator, author, members[0]):
                onboard(person, self.emulator)
            while self.emulator.deliver_due_webhooks():
                pass
            self.buyers = [u.id for u in buyers]
            self.curator, self.author, self.admin = curator.id, author.id, admin.id
            self.members = [m.id for m in members]
            self.shops = [s.id for s in shops]
            self.products = [p.id for p in products]
            people = {f"shop-{s.id}": s.owner for s in shops}
            people["admin"] = admin
            for name, person in people.items():
                browser = SimulatedBrowser(self.app, self.app.response_class, use_cookies=True)
                login(browser, person)
                browser.email = person.email
                browser.csrf_token()
                browser.save()
                self.browsers[name] = browser
            db.session.commit()
            db.session.remove()
            self._database = _snapshot_database()
            self._stripe = sqlite3.connect(":memory:", check_same_thread=False)
            with self.emulator.lock:
                self.emulator.store.conn.backup(self._stripe)

    # --- back to it, before every seed ------------------------------------------------------

    def restore(self) -> None:
        db.session.remove()
        self._database.restore()
        assert self._stripe is not None
        with self.emulator.lock:
            self._stripe.backup(self.emulator.store.conn)
            self.emulator.clock.set_offset(int(self.emulator.store.get_meta("clock_offset") or 0))
        self.emulator.faults.clear()
        self.emulator.keys_in_flight._keys.clear()
        limiter.reset()
        for browser in self.browsers.values():
            browser.restore()


def _snapshot_database() -> Any:
    if db.engine.dialect.name == "sqlite":
        return _SQLiteSnapshot()
    return _PostgresSnapshot()


class _SQLiteSnapshot:
    """A copy of the database file, put back with the backup API (schema, rows, the search
    index, the sequences: everything)."""

    def __init__(self) -> None:
        self.path = Path(str(db.engine.url.database))
        self.copy = self.path.with_name(self.path.stem + "-world.sqlite3")
        db.engine.dispose()
        with (
            contextlib.closing(sqlite3.connect(self.path)) as live,
            contextlib.closing(sqlite3.connect(self.copy)) as copy,
        ):
            live.backup(copy)

    def restore(self) -> None:
        db.engine.dispose()
        with (
            contextlib.closing(sqlite3.connect(self.copy)) as copy,
            contextlib.closing(sqlite3.connect(self.path, timeout=30)) as live,
        ):
            copy.backup(live)


class _PostgresSnapshot:
    """The rows of the tables the world filled, in memory; the sequences' values."""

    def __init__(self) -> None:
        self.metadata = MetaData()
        with db.engine.connect() as connection:
            self.metadata.reflect(connection)
            self.tables: list[Table] = [
                t for t in self.metadata.sorted_tables if t.name != "alembic_version"
            ]
            self.rows: dict[str, list[dict[str, Any]]] = {}
            for table in self.tables:
                rows = [dict(row._mapping) for row in connection.execute(table.select())]
                if rows:
                    self.rows[table.name] = rows
            self.sequences = {
                name: (int(value), bool(called))
                for name, value, called in connection.exec_driver_sql(
                    "SELECT sequencename, COALESCE(last_value, start_value), last_value IS NOT NULL"
                    " FROM pg_sequences WHERE schemaname = current_schema()"
                )
            }
        # One query says which tables hold rows now (the ones a seed wrote to).
        self.which = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"  # noqa: S608
            for t in self.tables
        )
        self.setval = "SELECT " + ", ".join(
            f"setval('\"{name}\"', {value}, {'true' if called else 'false'})"
            for name, (value, called) in self.sequences.items()
        )

    def restore(self) -> None:
        with db.engine.begin() as connection, _journal_unguarded(connection):
            touched = {row[0] for row in connection.exec_driver_sql(self.which)}
            names = sorted(touched | set(self.rows))
            if names:
                listed = ", ".join(f'"{name}"' for name in names)
                connection.exec_driver_sql(f"TRUNCATE {listed} CASCADE")
            for table in self.tables:
                rows = self.rows.get(table.name)
                if rows:
                    connection.execute(table.insert(), rows)
            if self.sequences:
                connection.exec_driver_sql(self.setval)
