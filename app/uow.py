"""The unit of work: the one place that commits or rolls back.

Services only `add` and `flush`. The request (or the CLI command, or the job) owns the
transaction:

* a request commits when its response is a success or a redirect and rolls back on an
  error status or an exception;
* a CLI command or job runs inside `unit_of_work()`;
* a use case that calls Stripe commits its intent first with `checkpoint()`, so that no
  database transaction is held open across a network call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, Response, g, request

from app.database import intent, write_intent
from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current unit of work has committed; never if it rolls back.

    Mail, jobs and other side effects go through here, so a failed action sends nothing.
    """
    g.setdefault("_after_commit", []).append(callback)


def _commit() -> None:
    # A request that never touched the database has no session, or no transaction in it:
    # nothing to commit (and no session to make just to ask).
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    callbacks: list[Callable[[], None]] = g.pop("_after_commit", [])
    for callback in callbacks:
        callback()


def _rollback() -> None:
    db.session.rollback()
    g.pop("_after_commit", None)


def checkpoint() -> None:
    """Commit what the current unit of work has done so far (before calling Stripe)."""
    _commit()


def rollback() -> None:
    _rollback()


@contextmanager
def unit_of_work(write: bool = True) -> Iterator[None]:
    """Run a block as one transaction: commit on success, roll back on any exception."""
    with intent(write):
        try:
            yield
            _commit()
        except BaseException:
            _rollback()
            raise


def writes(view):
    """Mark a GET view that writes (e.g. recording a click) so SQLite takes the write lock."""
    view._kindred_writes = True
    return view


def init_app(app: Flask) -> None:
    @app.before_request
    def _begin() -> None:
        view = app.view_functions.get(request.endpoint or "")
        will_write = request.method not in SAFE_METHODS or getattr(view, "_kindred_writes", False)
        g._uow_token = write_intent.set(will_write)

    @app.after_request
    def _finish(response: Response) -> Response:
        if response.status_code < 400:
            _commit()
        else:
            _rollback()
        return response

    @app.teardown_request
    def _cleanup(exc: BaseException | None) -> None:
        if exc is not None:
            _rollback()
        token = g.pop("_uow_token", None)
        if token is not None:
            write_intent.reset(token)
