from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from app.accounts.models import User
from app.database import include_name
from app.extensions import db
from app.uow import unit_of_work
from tests.conftest import is_postgres
from tests.factories import UserFactory


def test_migrations_match_the_models(app):
    """A model change without its migration fails here (the suite's schema comes from them)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `make migrate-new`: {diff}"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if is_postgres(app):
        pytest.skip("SQLite pragmas; the PostgreSQL pass has nothing to check here")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_concurrent_writers_wait_instead_of_failing(app):
    """Many threads each read-then-write: with BEGIN IMMEDIATE (SQLite) they queue, none fails."""
    user = UserFactory(bio="0")
    user_id = user.id
    db.session.remove()
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            with app.app_context():
                for _ in range(5):
                    with unit_of_work():
                        if is_postgres(app):
                            row = db.session.scalar(
                                select(User).where(User.id == user_id).with_for_update()
                            )
                        else:
                            row = db.session.get(User, user_id)
                        row.bio = str(int(row.bio) + 1)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.session.get(User, user_id).bio == "40"  # no lost update


def test_failed_unit_of_work_changes_nothing(app):
    with pytest.raises(RuntimeError), unit_of_work():
        db.session.add(User(email="x@example.com", handle="xxx", password_hash="h"))
        db.session.flush()
        raise RuntimeError("boom")
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_case_insensitive_uniqueness_holds_in_the_database(app):
    UserFactory(email="a@example.com", handle="abc")
    with db.engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM users WHERE email = 'a@example.com'")
        ).scalar()
    assert count == 1


def test_kept_statements_are_bounded_and_built_once(monkeypatch):
    from app import database

    monkeypatch.setattr(database, "_KEPT_STATEMENTS", {})
    monkeypatch.setattr(database, "KEPT_MAX", 3)
    built: list[int] = []

    def keep(n: int) -> object:
        return database.kept_statement(("test", n), lambda: built.append(n) or f"statement {n}")

    assert [keep(n) for n in (1, 2, 1, 3)] == [f"statement {n}" for n in (1, 2, 1, 3)]
    assert built == [1, 2, 3]  # the second look-up of 1 built nothing
    keep(4)  # over the bound: the oldest goes
    assert list(database._KEPT_STATEMENTS) == [("test", 2), ("test", 3), ("test", 4)]
