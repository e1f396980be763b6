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

Signed-in people share a *shell* of the pages that opt in (`@cached_page(signed_in=True)`):
the page rendered once for a signed-in nobody (an unsaved user with no id, no name, no
rights), with each part that is a visitor's own left as a marker (`app.page_parts`), kept
under the same version as the anonymous pages. Each request loads the visitor, as every
signed-in request does, then fills the markers for them: their header, their like, their
collections, each kind's data in one query. A page that is someone's own (a shop owner's
product page: they may edit it) names them with `personal_to`, and they get it rendered;
so do administrators, and anyone with a message waiting to be shown.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_caching import Cache
from flask_caching.backends.rediscache import RedisCache
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date, quote_etag
from werkzeug.wrappers import Response

from app import page_parts
from app.accounts.models import User
from app.accounts.services import names_someone
from app.i18n import visitor_locale
from app.rules import RuleViolation

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
        "conversation_messages",
        "conversations",
        "disputes",
        "earnings",
        "held_refunds",
        "journal_entries",
        "journal_lines",
        "ledger_accounts",
        "line_parties",
        "login_sessions",
        "message_digests",
        "message_pictures",
        "notifications",
        "order_events",
        "payees",
        "payout_items",
        "payout_runs",
        "person_blocks",
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
PRIVATE_COLUMNS = {
    "users": frozenset({"last_login_at", "session_nonce", "password_hash", "locale"})
}
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


@dataclass(frozen=True)
class Shell:
    """A page for signed-in people: its text around the parts that are each one's own."""

    version: int
    status: int
    mimetype: str
    page: page_parts.Fragment  # the page's text around its holes
    # People who get the page rendered for them (it is theirs: they may edit it).
    personal: frozenset[int]


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


def _key(kind: str = "page", locale: str | None = None) -> str:
    # The whole URL (scheme, host and mount point change the page's own links) and language.
    url = "".join(
        (request.scheme, "://", request.host, request.script_root, request.path, "?")
    ).encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(url + request.query_string).hexdigest()
    return f"{kind}:{locale or visitor_locale()}:{digest}"


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


def cached_page(view: View | None = None, *, signed_in: bool = False) -> Any:
    """Serve this page to anonymous visitors from the shared cache; with `signed_in`, serve
    signed-in people its shared shell, their own parts filled in (the page's templates
    must name every such part with `viewer_part`)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _shareable():
                return _anonymous_page(view, args, kwargs)
            if signed_in and _shell_fits():
                return _signed_in_page(view, args, kwargs)
            return view(*args, **kwargs)

        wrapper._kindred_page_cache = True  # type: ignore[attr-defined]
        return cast(View, wrapper)

    return decorate(view) if view is not None else decorate


def _read(*keys: str) -> tuple[int, list[Any]] | None:
    """The pages' version and these entries, in one round trip; None when the store is not
    answering (the caller then works without it)."""
    try:
        raw_version, *found = cache.get_many(VERSION_KEY, *keys)
    except Exception:
        current_app.logger.exception("the page cache is not answering")
        return None
    return int(raw_version or 0), found


def _anonymous_page(view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    key = _key()
    read = _read(key)
    if read is None:
        return view(*args, **kwargs)
    version, (found,) = read
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


@dataclass(frozen=True)
class Kept:
    version: int
    value: Any


T = TypeVar("T")


def kept(key: str, compute: Callable[[], T], seconds: int | None = None) -> T:
    """A value worked out from what public pages show (so it may be shared, or kept for one
    person), kept until the next commit that changes any of it, at most `seconds`: the
    same version as the pages. Computed every time when the cache is off or not answering."""
    (value,) = kept_many([key], lambda _missing: [compute()], seconds)
    return value


def kept_many(
    keys: Sequence[str], compute: Callable[[list[int]], list[T]], seconds: int | None = None
) -> list[T]:
    """`kept` for many values in one round trip: `compute` gets the positions of those not
    kept (or stale) and returns their values, in that order."""
    if not enabled():
        return compute(list(range(len(keys))))
    full = [f"kept:{key}" for key in keys]
    read = _read(*full)
    if read is None:
        return compute(list(range(len(keys))))
    version, found = read
    values: list[Any] = [
        entry.value if isinstance(entry, Kept) and entry.version == version else _MISSING
        for entry in found
    ]
    missing = [index for index, value in enumerate(values) if value is _MISSING]
    if missing:
        computed = compute(missing)
        for index, value in zip(missing, computed, strict=True):
            values[index] = value
        try:
            cache.set_many({full[i]: Kept(version, values[i]) for i in missing}, timeout=seconds)
        except Exception:
            current_app.logger.exception("could not store values in the cache")
    return cast(list[T], values)


_MISSING = object()


# --- signed-in people: a shared shell, their own parts filled in ---------------------------


def personal_to(*user_ids: int | None) -> None:
    """Say, while rendering a page, who must get it rendered for them rather than the shell
    (for example the owner of the shop a product page shows)."""
    personal: set[int] = g.setdefault("page_personal", set())
    personal.update(user_id for user_id in user_ids if user_id is not None)


def _shell_fits() -> bool:
    if request.method not in ("GET", "HEAD") or not enabled():
        return False
    from flask_login import current_user

    if not current_user.is_authenticated or "_flashes" in session:
        return False
    return not current_user.is_admin


def _signed_in_page(view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    from flask_login import current_user

    user = current_user._get_current_object()
    key = _key("shell", str(get_locale() or ""))  # the visitor's language, chosen before
    read = _read(key)
    if read is None:
        return view(*args, **kwargs)
    version, (found,) = read
    if isinstance(found, Shell) and found.version == version:
        g.page_cache = "shell-hit"
        if user.id in found.personal:
            return view(*args, **kwargs)
        return _fill(found, user)
    g.page_cache = "shell-miss"
    shell = _render_shell(view, args, kwargs, version)
    if shell is None:
        return view(*args, **kwargs)
    try:
        cache.set(key, shell)
    except Exception:
        current_app.logger.exception("could not store a page in the cache")
    if user.id in shell.personal:
        return view(*args, **kwargs)
    return _fill(shell, user)


def _render_shell(view: Callable[..., Any], args: Any, kwargs: Any, version: int) -> Shell | None:
    """The page rendered for the signed-in nobody, or None when it cannot be shared."""
    g.pop("page_personal", None)
    outer = page_parts.start_collecting()
    text = ""
    try:
        with page_parts.as_nobody():
            response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and not (
            response.direct_passthrough or response.is_streamed
        ):
            text = response.get_data(as_text=True)
    except (HTTPException, RuleViolation):
        response = None  # a page the nobody may not see (a draft): the visitor's own answer
    finally:
        fragment = page_parts.stop_collecting(text, outer)
        personal = frozenset(g.pop("page_personal", set()))
    if response is None or not text or fragment is None:
        return None
    token = g.get("csrf_token")
    texts = fragment.texts
    if token:
        texts = tuple(piece.replace(str(token), _placeholder()) for piece in texts)
    return Shell(
        version=version,
        status=200,
        mimetype=response.mimetype or "text/html",
        page=page_parts.Fragment(texts, fragment.calls),
        personal=personal,
    )


def _fill(shell: Shell, user: User) -> Response:
    (page,) = page_parts.fill(user, [shell.page])
    body = str(page).replace(_placeholder(), generate_csrf())
    response = current_app.response_class(body, status=shell.status, mimetype=shell.mimetype)
    response.headers.extend((("Cache-Control", PRIVATE), ("Vary", VARY)))
    return response


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
