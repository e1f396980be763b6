"""Readiness: can this process serve real traffic right now?

`/healthz` (in app.views) answers "is the process alive" and touches nothing, so an
orchestrator restarts a wedged process but never a healthy one because the database blinked.
`/readyz` answers "should the load balancer send requests here": the database answers a
`SELECT 1`, Redis answers a PING when it is configured, and the database's schema is at the
code's migration head (a process started before `flask db upgrade` finished must not serve).
It returns 200 or 503 with a JSON body naming each check and what failed.

Error details go to the log (with the request id), not into the body: the body is for a load
balancer, and a driver's message can name hosts and users.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app
from sqlalchemy import text

from app.extensions import db

blueprint = Blueprint("health", __name__)

REDIS_TIMEOUT_SECONDS = 2.0


class CheckFailed(Exception):
    """A check's own verdict, with a message safe to show."""


def _check_database() -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def migration_heads(app: Flask) -> set[str]:
    """The code's migration heads, read once per process: they cannot change while it runs,
    and parsing every revision file on each probe would cost more than the probe itself."""
    heads = app.extensions.get("kindred_migration_heads")
    if heads is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(_migrations_directory(app)))
        heads = set(ScriptDirectory.from_config(config).get_heads())
        app.extensions["kindred_migration_heads"] = heads
    return heads


def _migrations_directory(app: Flask) -> Path:
    migrate = app.extensions.get("migrate")
    directory = getattr(migrate, "directory", None)
    return Path(directory) if directory else Path(__file__).resolve().parent.parent / "migrations"


def _check_migrations() -> None:
    from alembic.runtime.migration import MigrationContext

    expected = migration_heads(current_app)
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != expected:
        raise CheckFailed(
            f"database at {', '.join(sorted(current)) or 'no revision'}, "
            f"code expects {', '.join(sorted(expected))}"
        )


def _redis_client(app: Flask) -> Any:
    client = app.extensions.get("kindred_health_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        app.extensions["kindred_health_redis"] = client
    return client


def _check_redis() -> None:
    if not _redis_client(current_app).ping():
        raise CheckFailed("no PONG")


def _run(check: Callable[[], None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except CheckFailed as failure:
        result: dict[str, Any] = {"ok": False, "error": str(failure)}
    except Exception as error:
        current_app.logger.warning("readiness check %s failed", check.__name__, exc_info=True)
        result = {"ok": False, "error": error.__class__.__name__}
    else:
        result = {"ok": True}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def readiness() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {"database": _run(_check_database)}
    if checks["database"]["ok"]:
        checks["migrations"] = _run(_check_migrations)
    else:
        checks["migrations"] = {"ok": False, "error": "skipped: database unreachable"}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _run(_check_redis)
    ready = all(check["ok"] for check in checks.values())
    return ready, checks


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, Any], int, dict[str, str]]:
    ready, checks = readiness()
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return body, 200 if ready else 503, {"Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
