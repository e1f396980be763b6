"""Test fixtures shared by every package's tests.

The schema is built once per run by running the Alembic migrations (so a missing migration
fails here), on SQLite by default or on the PostgreSQL database named by TEST_DATABASE_URL.
Between tests every table is emptied. Each test gets a fresh app, so settings can differ.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.accounts.passwords import use_fast_hashing_for_tests
from app.database import write_intent
from app.extensions import db, limiter
from app.i18n import compile_catalogs
from marketplace.models import SEARCH_TABLE
from marketplace.search import TRIGRAMS_TABLE as SEARCH_TRIGRAMS
from marketplace.search import VOCABULARY_TABLE as SEARCH_VOCABULARY
from payouts.models import JournalEntry, JournalLine

use_fast_hashing_for_tests()
compile_catalogs()

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return (
            url.replace("postgresql://", "postgresql+psycopg://", 1)
            if url.startswith("postgresql://")
            else url
        )
    return f"sqlite:///{tmp_root / 'test.sqlite3'}"


def is_postgres(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("db")
    url = _database_url(root)
    app = create_app(_base_config(url, root))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _base_config(url: str, root: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(root / "instance"),
        "OUTBOX_DIR": str(root / "outbox"),
        "UPLOAD_DIR": str(root / "uploads"),
        "SERVER_NAME": "kindred.test",
        "BASE_URL": "http://kindred.test",
        "RATELIMIT_STORAGE_URI": "memory://",
        # Anonymous pages are cached as in production, in the process whatever the database.
        "PAGE_CACHE": "memory",
        # Stripe is the emulator, in memory: a fresh one for every test.
        "STRIPE_SECRET_KEY": "",
        "STRIPE_EMULATOR_DB": ":memory:",
        # Generous limits for the suite; the rate-limit tests set tight ones.
        "RATELIMIT_LOGIN": "1000 per minute",
        "RATELIMIT_SIGNUP": "1000 per minute",
        "RATELIMIT_RESET": "1000 per minute",
        "RATELIMIT_NEW_CONVERSATIONS": "1000 per minute",
        "RATELIMIT_MESSAGES": "1000 per minute",
    }


class KindredClient(FlaskClient):
    """A test client that behaves like a browser with forms: it sends the CSRF token.

    Each request runs in a fresh context, as in production: the test's own app context
    (pushed by the `app` fixture) would otherwise be reused, and with it `g` (the logged-in
    user, the CSRF token, after-commit hooks) across requests. The test's session is
    committed around each request, so the test reads what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Read the whole response and close it, as a server does (closing is when work queued
        # for after the response runs, such as the emulator's webhook deliveries).
        kwargs.setdefault("buffered", True)
        if not has_app_context():  # a redirect being followed, already inside a fresh context
            return super().open(*args, **kwargs)
        db.session.commit()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            db.session.commit()

    def csrf_token(self) -> str:
        page = self.get("/password/forgot")
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post_form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def api(self, method: str, url: str, **kwargs: Any) -> Any:
        """An API call authenticated by the session, with the CSRF header a page would send."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            headers.setdefault("X-CSRFToken", self.csrf_token())
        return self.open(url, method=method.upper(), headers=headers, **kwargs)


@pytest.fixture
def app_config(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """Override in a test module (or update in a test) to change settings."""
    config = _base_config(database_url, tmp_path)
    return config


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.test_client_class = KindredClient
    limiter.reset()
    # The test body reads like a reader: on SQLite it must not hold the write lock while a
    # live server thread writes (factories still write, upgrading their transaction).
    token = write_intent.set(False)
    with app.app_context():
        yield app
        db.session.remove()
        write_intent.reset(token)
        _empty_tables()
        db.engine.dispose()


# The journal is append-only in the database too: triggers refuse UPDATE, DELETE and (on
# PostgreSQL) TRUNCATE of its rows. The clean-up between tests is the one thing that empties it:
# it lifts those triggers inside its own transaction and puts them back before committing, so
# no other connection ever sees the journal unguarded (and a failure rolls the lift back).
JOURNAL_TABLES = (JournalEntry.__tablename__, JournalLine.__tablename__)


@contextlib.contextmanager
def _journal_unguarded(connection: Any) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        for table in JOURNAL_TABLES:
            connection.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        yield
        for table in JOURNAL_TABLES:
            connection.exec_driver_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        return
    # SQLite cannot disable a trigger: drop them and create them again from their own SQL.
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (?, ?)",
        JOURNAL_TABLES,
    ).all()
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection, _journal_unguarded(connection):
        if connection.dialect.name == "postgresql":
            names = ", ".join([f'"{t.name}"' for t in tables] + [SEARCH_VOCABULARY])
            if names:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
            # The search index is a virtual table outside the models (on PostgreSQL it is a
            # table whose rows the products' TRUNCATE cascades to).
            connection.exec_driver_sql(f"DELETE FROM {SEARCH_TABLE}")  # noqa: S608 (a constant)
            # Its vocabulary, for typos, and the words' trigrams (on PostgreSQL, pg_trgm's).
            connection.exec_driver_sql(f"DELETE FROM {SEARCH_VOCABULARY}")  # noqa: S608
            connection.exec_driver_sql(f"DELETE FROM {SEARCH_TRIGRAMS}")  # noqa: S608
            connection.exec_driver_sql("DELETE FROM sqlite_sequence") if _has_sqlite_sequence(
                connection
            ) else None


def _has_sqlite_sequence(connection: Any) -> bool:
    return bool(
        connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'"
        ).first()
    )


@pytest.fixture
def client(app: Flask) -> KindredClient:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def outbox(app: Flask) -> Any:
    """The mail sent so far, as parsed messages, oldest first."""
    from app.mail import outbox_messages

    def read() -> list[Any]:
        return [message for _name, message in reversed(outbox_messages(500))]

    return read


@pytest.fixture
def postgres_only(app: Flask) -> None:
    if not is_postgres(app):
        pytest.skip(
            "needs PostgreSQL (row locks and real concurrency); "
            "runs in the PostgreSQL pass of .ci/run"
        )


@pytest.fixture
def emulator(app: Flask) -> Any:
    """The app's in-process Stripe emulator."""
    from payouts.runtime import emulator as get_emulator

    return get_emulator(app)


@pytest.fixture
def gateway(app: Flask) -> Any:
    from payouts.runtime import gateway as get_gateway

    return get_gateway(app)


def login(client: KindredClient, user: Any, password: str = "correct horse battery") -> Any:
    """Log in as `user`, logging out whoever was logged in first (the log-in page would just
    redirect a logged-in person); a guest's session, and so their cart, is kept."""
    with client.session_transaction() as session:
        logged_in = "_user_id" in session
    if logged_in:
        client.post_form("/logout")
    response = client.post_form("/login", {"login": user.email, "password": password})
    if response.status_code == 302 and response.headers["Location"].endswith("/login/code"):
        # Two-step sign-in is on: give the app's code, as the person would.
        response = client.post_form("/login/code", {"code": next_two_step_code(user)})
    return response


def next_two_step_code(user: Any) -> str:
    """A code the app will accept now for `user`: the earliest step within the clock's drift
    that is later than the last one used (a code works once)."""
    import pyotp

    from app.accounts.two_step import DRIFT_STEPS
    from app.models import utcnow

    db.session.refresh(user)
    totp = pyotp.TOTP(user.two_step_secret)
    current = int(utcnow().timestamp()) // totp.interval
    last = user.two_step_last_step if user.two_step_last_step is not None else current - 99
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > last:
            return str(totp.generate_otp(step))
    raise AssertionError("every code of this moment is used: move the clock on (time_machine)")
