"""Anonymous pages from a shared cache, with the validators a proxy or a CDN needs.

A page opts in with `@cached_page`. A visitor who is not signed in and carries nothing of
their own (no cart, no message waiting: the session holds at most the CSRF token) gets it
from the cache, keyed by its whole URL and the language. The cache is Flask-Caching: on
Redis when REDIS_URL is set (shared by every worker and the job runners), in the process for
the embedded mode (one process, SQLite), and off otherwise.

Invalidation is by event, not by time: every transaction that wrote to a table a public page
shows (a product, a price, stock, a shop, a pick, a review...) bumps one version number when
it commits, and an entry made under an older version is never served. So a change is on the
next page anyone loads; money and stock at checkout never come from here at all (the cart and
the checkout are not cached pages). The time limit only bounds how old a relative date
("3 minutes ago") may get.

A page with a form carries the visitor's CSRF token: it is kept in the cache as a placeholder
and filled with the visitor's own token on the way out; such a page is `private`. The others
are `public` with an ETag and Last-Modified, and a conditional request gets a 304.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, make_response, request, session
from flask_caching import Cache
from flask_caching.backends.rediscache import RedisCache
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.http import http_date, quote_etag
from werkzeug.wrappers import Response

from app.accounts.services import names_someone
from app.i18n import visitor_locale

cache = Cache()

VERSION_KEY = "pages:version"
# What an anonymous visitor's session may hold and still get the shared page.
NEUTRAL_SESSION_KEYS = frozenset({"csrf_token", "_fresh", "_permanent"})
# Tables no public page shows: writing them (a cart, a sign-in, the ledger) leaves the pages.
PRIVATE_TABLES = frozenset(
    {
        "api_tokens",
        "batch_failures",
        "cart_attributions",
        "cart_lines",
        "carts",
        "checkout_attributions",
        "checkout_lines",
        "checkouts",
        "disputes",
        "earnings",
        "held_refunds",
        "journal_entries",
        "journal_lines",
        "ledger_accounts",
        "line_parties",
        "login_sessions",
        "notifications",
        "order_events",
        "payees",
        "payout_items",
        "payout_runs",
        "pool_distributions",
        "recovery_codes",
        "refund_lines",
        "refunds",
        "reports",
        "saved_addresses",
        "share_clicks",
        "stripe_events",
        "transfer_reversals",
    }
)
# Columns of public tables that no page shows (an update of only these leaves the pages).
PRIVATE_COLUMNS = {"users": frozenset({"last_login_at", "session_nonce", "password_hash"})}
_SET_COLUMNS = re.compile(r"[\s,]\"?(\w+)\"?\s*=", re.IGNORECASE)
_WRITE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)"
    r"\s+[\"`]?(\w+)",
    re.IGNORECASE,
)
# Set when this thread's transaction wrote a public table; read when it commits.
_public_write: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kindred_public_write", default=False
)

_bump_lock = threading.Lock()

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry:
    version: int
    status: int
    body: bytes
    mimetype: str
    etag: str
    last_modified: datetime
    etag_header: str
    last_modified_header: str
    # The body holds the CSRF placeholder: filled per visitor, so the page is private.
    has_form: bool


def enabled() -> bool:
    return bool(current_app.config.get("PAGE_CACHE_TYPE", "NullCache") != "NullCache")


def backend_config(config: dict[str, Any]) -> dict[str, Any]:
    """Flask-Caching's settings for this deployment (see the module's docstring).

    PAGE_CACHE chooses: "off", "memory" (this process), "redis" (REDIS_URL), or empty for
    Redis when REDIS_URL is set, the process in the embedded mode, and off otherwise.
    """
    chosen = str(config.get("PAGE_CACHE") or "").lower()
    redis_url = config.get("REDIS_URL") or ""
    embedded = str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite")
    if chosen == "off":
        kind = "NullCache"
    elif chosen == "memory":
        kind = "SimpleCache"
    elif redis_url and chosen in ("", "redis"):
        kind = "RedisCache"
    elif embedded and not chosen:
        kind = "SimpleCache"
    else:
        # Several worker processes and no shared store: a page cached in one would outlive
        # a change made through another.
        kind = "NullCache"
    return {
        "CACHE_TYPE": kind,
        "CACHE_REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "kindred:",
        "CACHE_DEFAULT_TIMEOUT": int(config.get("PAGE_CACHE_SECONDS") or 120),
        "CACHE_THRESHOLD": 2000,
    }


def current_version() -> int:
    return int(cache.get(VERSION_KEY) or 0)


def invalidate() -> None:
    """Make every cached page stale (a commit that wrote a public table calls this)."""
    try:
        if isinstance(cache.cache, RedisCache):
            cache.cache.inc(VERSION_KEY)  # INCR: atomic across processes, and never expires
        else:
            # In the process: no increment may be lost between two threads' commits.
            with _bump_lock:
                cache.set(VERSION_KEY, current_version() + 1, timeout=0)
    except Exception:  # the store is down: pages fall back to rendering
        current_app.logger.exception("could not invalidate the page cache")


def _placeholder() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return "kindred-csrf-" + hmac.new(secret, b"page-cache-csrf", hashlib.sha256).hexdigest()[:24]


def _shareable() -> bool:
    """Whether this request may get (and fill) the shared copy of the page."""
    if request.method not in ("GET", "HEAD") or not enabled():
        return False
    # Anything that may sign someone in means their own page (and nobody is loaded to see).
    return not names_someone() and set(session.keys()) <= NEUTRAL_SESSION_KEYS


def _key() -> str:
    # The whole URL (scheme, host and mount point change the page's own links) and language.
    url = "".join(
        (request.scheme, "://", request.host, request.script_root, request.path, "?")
    ).encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(url + request.query_string).hexdigest()
    return f"page:{visitor_locale()}:{digest}"


SHARED = "public, max-age=0, must-revalidate"
PRIVATE = "private, no-cache"
VARY = "Cookie, Accept-Language"


def _respond(entry: Entry) -> Response:
    if entry.has_form:
        body = entry.body.replace(_placeholder().encode(), generate_csrf().encode())
        response = current_app.response_class(body, status=entry.status, mimetype=entry.mimetype)
        response.headers.extend((("Cache-Control", PRIVATE), ("Vary", VARY)))
        return response
    headers = [
        ("Cache-Control", SHARED),
        ("Vary", VARY),
        ("ETag", entry.etag_header),
        ("Last-Modified", entry.last_modified_header),
    ]
    if _not_modified(entry):
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(
        entry.body, status=entry.status, mimetype=entry.mimetype, headers=headers
    )


def _not_modified(entry: Entry) -> bool:
    """A conditional request the copy it holds still answers (RFC 9110: If-None-Match wins)."""
    headers = request.headers
    if "If-None-Match" in headers:
        return request.if_none_match.contains_weak(entry.etag)
    if "If-Modified-Since" in headers:
        since = request.if_modified_since
        return since is not None and since >= entry.last_modified
    return False


def _fresh_entry(version: int, response: Response) -> Entry | None:
    """The response as a cache entry, or None when it must not be shared."""
    if response.status_code != 200 or response.direct_passthrough or response.is_streamed:
        return None
    if not set(session.keys()) <= NEUTRAL_SESSION_KEYS or "Set-Cookie" in _own_headers(response):
        return None
    body = response.get_data()
    token = g.get("csrf_token")
    has_form = bool(token) and str(token).encode() in body
    if has_form:
        body = body.replace(str(token).encode(), _placeholder().encode())
    etag = hashlib.sha256(body).hexdigest()[:32]
    last_modified = datetime.now(UTC).replace(microsecond=0)
    return Entry(
        version=version,
        status=200,
        body=body,
        mimetype=response.mimetype or "text/html",
        etag=etag,
        last_modified=last_modified,
        etag_header=quote_etag(etag),
        last_modified_header=http_date(last_modified),
        has_form=has_form,
    )


def _own_headers(response: Response) -> set[str]:
    return {name for name, _value in response.headers}


def cached_page(view: View) -> View:
    """Serve this page to anonymous visitors from the shared cache."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _shareable():
            return view(*args, **kwargs)
        key = _key()
        try:
            raw_version, found = cache.get_many(VERSION_KEY, key)
        except Exception:
            current_app.logger.exception("the page cache is not answering")
            return view(*args, **kwargs)
        version = int(raw_version or 0)
        if isinstance(found, Entry) and found.version == version:
            g.page_cache = "hit"
            return _respond(found)
        g.page_cache = "miss"
        response = make_response(view(*args, **kwargs))
        entry = _fresh_entry(version, response)
        if entry is None:
            return response
        try:
            cache.set(key, entry)
        except Exception:
            current_app.logger.exception("could not store a page in the cache")
        return _respond(entry)

    wrapper._kindred_page_cache = True  # type: ignore[attr-defined]
    return cast(View, wrapper)


# --- invalidation --------------------------------------------------------------------------


def _note_write(
    _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    match = _WRITE.match(statement)
    if match is None:
        return
    table = match.group(1).lower()
    if table in PRIVATE_TABLES:
        return
    hidden = PRIVATE_COLUMNS.get(table)
    if hidden is not None and statement.lstrip()[:6].upper() == "UPDATE":
        assignments = re.split(r"\sWHERE\s", statement[match.end() :], maxsplit=1, flags=re.I)[0]
        if set(_SET_COLUMNS.findall(assignments)) <= hidden:
            return
    _public_write.set(True)


def _after_commit(_session: Session) -> None:
    if _public_write.get():
        _public_write.set(False)
        if current_app and enabled():
            invalidate()


def _after_rollback(_session: Session, previous: Any) -> None:
    # Only a whole transaction's rollback undoes its writes; a savepoint's leaves the rest.
    if previous.parent is None:
        _public_write.set(False)


def init_app(app: Flask) -> None:
    app.config.update(backend_config(app.config))
    with warnings.catch_warnings():
        # Off is a choice here, not a mistake to warn about.
        warnings.filterwarnings("ignore", "Flask-Caching: CACHE_TYPE is set to NullCache")
        cache.init_app(app)
    app.config["PAGE_CACHE_TYPE"] = app.config["CACHE_TYPE"]
    if not event.contains(Engine, "before_cursor_execute", _note_write):
        event.listen(Engine, "before_cursor_execute", _note_write)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
