"""Background jobs.

A job is a named function registered with `@job("name")`. `enqueue(name, **kwargs)` runs it
after the current unit of work commits (never if it rolls back), in its own unit of work. In
the embedded mode (no REDIS_URL) it runs inline in the same process; production hands it to
the job broker. A job must be idempotent: it can run twice (a retry, two workers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from app.uow import after_commit, unit_of_work

JobFunction = Callable[..., None]


def _registry(app: Flask | None = None) -> dict[str, JobFunction]:
    app = app or current_app
    return app.extensions.setdefault("kindred_jobs", {})


def register(app: Flask, name: str, function: JobFunction) -> None:
    _registry(app)[name] = function


def run(name: str, /, **kwargs: Any) -> None:
    """Run a job now, in its own unit of work."""
    # `name` is positional-only, so a job may itself take an argument called `name`.
    function = _registry()[name]
    with unit_of_work():
        function(**kwargs)


def enqueue(name: str, /, **kwargs: Any) -> None:
    if name not in _registry():
        raise KeyError(f"no job named {name!r}")
    # The broker carries a job's arguments as JSON: fail here, before the commit and in every
    # mode, rather than in production after the commit.
    json.dumps(kwargs)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    dispatcher: Callable[[str, dict[str, Any]], None] = app.extensions.get(
        "kindred_job_dispatcher", run_inline
    )
    after_commit(lambda: dispatcher(name, kwargs))


def run_inline(name: str, kwargs: dict[str, Any]) -> None:
    try:
        run(name, **kwargs)
    except Exception:
        # A failed job must not break the request that queued it; jobs record their own
        # failure state (e.g. a webhook event's attempts) for the retry sweep.
        current_app.logger.exception("job %s failed", name)
