"""Logs with a request id: JSON lines in production, readable text in development.

Every request gets an id, taken from the `X-Request-ID` header when the proxy in front sent a
sane one (so one id follows a request from the load balancer through to the database logs) or
generated here. It lives in `g.request_id`, goes back to the client in the `X-Request-ID`
response header (which gunicorn's access log reads), and is stamped on every log line the
request produces. A job queued by a request carries the request's id to the worker, so the
job's log lines can be traced back to the click that caused them.

`LOG_FORMAT` chooses `json` or `text`; unset, it is text under the debugger or in tests and
JSON otherwise.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context
from flask import request as flask_request
from flask.logging import default_handler

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from outside: it is echoed in a header and written in logs, so no spaces,
# quotes or control characters, and not so long it bloats every line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

# The request id outside a request: set while a worker runs a job.
_bound_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kindred_request_id", default=None
)

# Chatty at INFO about things that are not events of the app: Alembic announcing its plugins
# at every start, the Stripe SDK writing two lines per API call.
QUIET_LOGGERS = {"alembic.runtime.plugins": logging.WARNING, "stripe": logging.WARNING}

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

# LogRecord's own attributes; anything else on a record came from `extra=` and is logged too.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: str | None) -> str | None:
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    """The id of the request (or of the job's originating request) being served, if any."""
    bound = _bound_request_id.get()
    if bound:
        return bound
    if has_request_context():
        return g.get("request_id")
    return None


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Stamp log lines with `request_id` for the duration of a block (a job in a worker)."""
    token = _bound_request_id.set(request_id)
    try:
        yield
    finally:
        _bound_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id` attribute ("-" outside requests and jobs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy for a log shipper, and a traceback stays in one event."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id() or "-",
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def make_formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT)


def resolve_format(app: Flask) -> str:
    configured = (app.config.get("LOG_FORMAT") or "").strip().lower()
    if configured in ("json", "text"):
        return configured
    return "text" if app.debug or app.testing else "json"


def configure_logging(log_format: str, level: str | int = "INFO") -> logging.Handler:
    """Send all logging (the app's, gunicorn's, Celery's, libraries') through one handler on
    the root logger, so every line has the same shape and carries the request id.

    Idempotent: a handler installed by an earlier call is replaced, never doubled (tests build
    many apps in one process).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kindred", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._kindred = True  # type: ignore[attr-defined]
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name, quiet_level in QUIET_LOGGERS.items():
        if root.level < quiet_level:
            logging.getLogger(name).setLevel(quiet_level)
    return handler


def assign_request_id() -> None:
    """The request's id, before anything else of the request runs: the app factory registers
    it as the very first before-request hook (app.register_first_checks)."""
    g.request_id = sane_request_id(flask_request.headers.get(REQUEST_ID_HEADER)) or new_request_id()


def init_app(app: Flask) -> None:
    """Logging, and the request id on the way out. The hook that gives the id is registered
    by the app factory with the other checks that must come first, in their order."""
    log_format = resolve_format(app)
    app.config["LOG_FORMAT"] = log_format
    configure_logging(log_format, app.config.get("LOG_LEVEL") or "INFO")
    # Flask's own stderr handler would print each app line a second time, unstructured.
    app.logger.removeHandler(default_handler)

    @app.after_request
    def _return_request_id(response: Response) -> Response:
        # Also on error pages: the id is what a person quotes when they report a problem.
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response
