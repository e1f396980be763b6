"""Production serving: readiness, request ids, log formats, the proxy setting."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from flask import g, request
from sqlalchemy import text

from app import create_app
from app import logging as app_logging
from app.extensions import db

HEX_ID = re.compile(r"[0-9a-f]{32}")


# --- /healthz and /readyz -------------------------------------------------------------------


def test_healthz_touches_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_ready_when_database_is_up_and_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is True
    assert "redis" not in body["checks"]  # not configured: not checked
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_503_when_migrations_are_behind(app, client):
    app.extensions["kindred_migration_heads"] = {"9999_from_the_future"}
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    migrations = body["checks"]["migrations"]
    assert migrations["ok"] is False
    assert "9999_from_the_future" in migrations["error"]


def test_readyz_503_when_redis_is_unreachable(app, client):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["redis"] == {"ok": False, "error": "ConnectionError", "ms": checks["redis"]["ms"]}
    assert checks["database"]["ok"] is True


def test_readyz_503_when_database_is_unreachable(tmp_path: Path, app_config):
    # A SQLite file in a folder that does not exist cannot be opened.
    config = {
        **app_config,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}",
    }
    broken = create_app(config)
    with broken.app_context():
        response = broken.test_client().get("/readyz")
        db.engine.dispose()
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"]["ok"] is False
    assert checks["database"]["error"] == "OperationalError"
    # The driver's message (it may name hosts and users) stays in the log.
    assert "missing" not in json.dumps(response.json)
    assert checks["migrations"] == {"ok": False, "error": "skipped: database unreachable"}


def test_readyz_checks_a_reachable_redis(app, client):
    class FakeRedis:
        def ping(self) -> bool:
            return True

    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    app.extensions["kindred_health_redis"] = FakeRedis()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"]["ok"] is True


# --- request ids ------------------------------------------------------------------------------


def test_request_id_generated_when_absent(client):
    response = client.get("/healthz")
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])
    other = client.get("/healthz")
    assert other.headers["X-Request-ID"] != response.headers["X-Request-ID"]


def test_sane_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42:edge"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42:edge"


@pytest.mark.parametrize("bad", ["", "has space", 'quote"d', "x" * 129, "new\tline", "émoji-🙂"])
def test_insane_request_id_is_replaced(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


def test_request_id_on_error_responses(app, client):
    @app.get("/_boom")
    def boom():  # pragma: no cover - exercised by the request
        raise RuntimeError("kaput")

    assert client.get("/nowhere", headers={"X-Request-ID": "r404"}).headers["X-Request-ID"] == (
        "r404"
    )
    assert client.get("/_boom", headers={"X-Request-ID": "r500"}).headers["X-Request-ID"] == (
        "r500"
    )
    api = client.get("/api/v1/me", headers={"X-Request-ID": "r401"})
    assert api.status_code == 401 and api.headers["X-Request-ID"] == "r401"


def test_request_id_in_g_and_in_log_lines(app, client):
    seen: dict[str, object] = {}
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    keep.addFilter(app_logging.RequestIdFilter())
    app.logger.addHandler(keep)

    @app.get("/_log")
    def log_something():
        seen["g"] = g.request_id
        app.logger.warning("something for %s", request.path)
        return "ok"

    try:
        client.get("/_log", headers={"X-Request-ID": "trace-me"})
    finally:
        app.logger.removeHandler(keep)
    assert seen["g"] == "trace-me"
    [record] = [r for r in records if r.getMessage() == "something for /_log"]
    assert record.request_id == "trace-me"  # type: ignore[attr-defined]
    line = json.loads(app_logging.JsonFormatter().format(record))
    assert line["request_id"] == "trace-me"
    assert line["level"] == "WARNING" and line["logger"] == app.logger.name
    assert line["message"] == "something for /_log"
    text = logging.Formatter(app_logging.TEXT_FORMAT).format(record)
    assert "[trace-me]" in text and "WARNING" in text


def test_json_lines_carry_extra_fields_and_tracebacks():
    formatter = app_logging.JsonFormatter()
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord(
            "kindred.test", logging.ERROR, __file__, 1, "it %s", ("broke",), None
        )
        import sys

        record.exc_info = sys.exc_info()
    record.job = "marketplace.sweep_checkouts"
    with app_logging.bound_request_id("job-1"):
        line = json.loads(formatter.format(record))
    assert line["message"] == "it broke"
    assert line["request_id"] == "job-1"
    assert line["job"] == "marketplace.sweep_checkouts"
    assert "ValueError: bad value" in line["exc_info"]
    assert "\n" not in formatter.format(record)  # one event, one line


def test_log_format_from_config(app_config):
    assert create_app({**app_config, "LOG_FORMAT": ""}).config["LOG_FORMAT"] == "text"  # testing
    assert create_app({**app_config, "LOG_FORMAT": "json"}).config["LOG_FORMAT"] == "json"
    production = create_app({**app_config, "TESTING": False, "LOG_FORMAT": ""})
    assert production.config["LOG_FORMAT"] == "json"
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_kindred", False)]
    assert len(ours) == 1  # each app replaces the handler, never adds a second
    assert isinstance(ours[0].formatter, app_logging.JsonFormatter)
    create_app(app_config)  # back to text for the rest of the run


# --- behind a proxy ----------------------------------------------------------------------------


@pytest.mark.parametrize(("hops", "expected"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_trusted_proxies_give_the_client_address(app_config, hops, expected):
    proxied = create_app({**app_config, "TRUSTED_PROXIES": hops})

    @proxied.get("/_addr")
    def addr():
        return {"addr": request.remote_addr, "scheme": request.scheme}

    with proxied.app_context():
        response = proxied.test_client().get(
            "/_addr",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        db.engine.dispose()
    assert response.json["addr"] == expected
    assert response.json["scheme"] == ("https" if hops else "http")


def test_postgresql_connections_time_out():
    from app import config as config_module

    config = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x@db/kindred"}
    config_module.apply_engine_defaults(config)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "connect_timeout": 5,
        "options": "-c jit=off",
    }
    sqlite = {"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    config_module.apply_engine_defaults(sqlite)
    assert "connect_args" not in sqlite["SQLALCHEMY_ENGINE_OPTIONS"]


def test_postgresql_connections_never_compile_a_plan(app):
    """A large catalogue's search plan crossed jit_above_cost and compiled for 130 ms to run
    30 (bench.search at x100): the app's connections have JIT off."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting; runs in the PostgreSQL pass of .ci/run")
    assert db.session.execute(text("SHOW jit")).scalar() == "off"
