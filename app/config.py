"""Configuration, read once from the environment (and `.env`).

The defaults give the embedded mode: SQLite in the instance folder, jobs inline, Stripe
emulated, mail written to a local outbox. Production sets DATABASE_URL, REDIS_URL and the
Stripe keys; nothing else changes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


def instance_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in the instance folder, creating it on first use.

    A generated key survives restarts (sessions and reset links stay valid) and, living in
    the instance folder, is never committed.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def apply_engine_defaults(config: dict[str, Any]) -> None:
    """Engine options that depend on the database finally chosen (a test or a caller may
    override the URL after the environment was read)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        # Without it, connecting to an unreachable server waits for the OS's TCP timeout
        # (minutes): requests and the readiness probe would hang instead of failing.
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", config.get("DATABASE_CONNECT_TIMEOUT", 5))
        # No JIT compilation: the app's statements are short, but a plan's estimated cost
        # counts branches that never run and grows with the tables, so on a large catalogue
        # the search crossed jit_above_cost and spent ~130 ms compiling a ~30 ms plan
        # (bench.search at x100). Such a statement is never worth compiling here.
        connect_args.setdefault("options", "-c jit=off")
        options["connect_args"] = connect_args
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def base_url(env: Any = os.environ.get) -> str:
    """The site's address in links sent away (mail): BASE_URL, or in the embedded mode where
    `make run` (flask run) listens, as a browser on this machine reaches it (listening on
    every interface, that is 127.0.0.1)."""
    configured = env("BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    host = env("FLASK_RUN_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]", ""):  # noqa: S104 (naming it, not binding it)
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{env('FLASK_RUN_PORT') or 5000}"


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Build the configuration mapping from environment variables."""
    load_dotenv(override=False)
    env = os.environ.get
    database_url = env("DATABASE_URL") or f"sqlite:///{instance_path / 'kindred.sqlite3'}"
    # Heroku-style URLs name the driver "postgres"; we always use psycopg 3.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    redis_url = env("REDIS_URL") or ""
    return {
        "SECRET_KEY": env("SECRET_KEY") or instance_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "DATABASE_CONNECT_TIMEOUT": _int(env("DATABASE_CONNECT_TIMEOUT"), 5),
        "REDIS_URL": redis_url,
        # Anonymous pages from a shared cache (app/page_cache.py): "" chooses Redis when
        # REDIS_URL is set, the process in the embedded mode; or "off", "memory", "redis".
        "PAGE_CACHE": env("PAGE_CACHE") or "",
        "PAGE_CACHE_SECONDS": _int(env("PAGE_CACHE_SECONDS"), 120),
        # Home feeds as timelines in Redis, fanned out on write (social/timeline.py): on with
        # REDIS_URL unless "off".
        "FEED_TIMELINES": env("FEED_TIMELINES") or "on",
        "SITE_NAME": env("SITE_NAME") or "Kindred",
        "BASE_URL": base_url(env),
        "CURRENCY": (env("CURRENCY") or "eur").lower(),
        # Mail: with MAIL_SERVER set, mail goes out by SMTP; otherwise to the instance outbox.
        "MAIL_SERVER": env("MAIL_SERVER") or "",
        "MAIL_PORT": _int(env("MAIL_PORT"), 587),
        "MAIL_USERNAME": env("MAIL_USERNAME") or "",
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or "",
        "MAIL_USE_TLS": _bool(env("MAIL_USE_TLS"), True),
        "MAIL_FROM": env("MAIL_FROM") or "Kindred <hello@kindred.localhost>",
        "OUTBOX_DIR": env("OUTBOX_DIR") or str(instance_path / "outbox"),
        "UPLOAD_DIR": env("UPLOAD_DIR") or str(instance_path / "uploads"),
        # Rate limits (Flask-Limiter syntax); Redis when REDIS_URL is set.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_LOGIN": env("RATELIMIT_LOGIN") or "10 per minute;50 per hour",
        "RATELIMIT_SIGNUP": env("RATELIMIT_SIGNUP") or "5 per minute;20 per hour",
        "RATELIMIT_RESET": env("RATELIMIT_RESET") or "5 per minute;20 per hour",
        # Pictures one person may send (each decoded picture counts, refused ones too): a
        # moving window, so a burst cannot straddle a window's edge. Set empty, no limit.
        "RATELIMIT_UPLOADS": env("RATELIMIT_UPLOADS", "40 per 10 minutes;200 per hour"),
        "PASSWORD_RESET_MAX_AGE": _int(env("PASSWORD_RESET_MAX_AGE"), 3600),
        # Per account, besides the per-address limits above: this many failed passwords (or
        # two-step codes) within the window lock the account's sign-in for ACCOUNT_LOCK_SECONDS
        # (short, so no one can keep a person out for long; a password reset lifts it).
        "ACCOUNT_LOGIN_FAILURES": env("ACCOUNT_LOGIN_FAILURES") or "10 per 15 minutes",
        "ACCOUNT_CODE_FAILURES": env("ACCOUNT_CODE_FAILURES") or "5 per 15 minutes",
        "ACCOUNT_LOCK_SECONDS": _int(env("ACCOUNT_LOCK_SECONDS"), 300),
        # At most one "someone is trying your password" mail per account in this time.
        "ACCOUNT_LOCK_NOTICE_SECONDS": _int(env("ACCOUNT_LOCK_NOTICE_SECONDS"), 86400),
        # A sign-in session's "last seen" is written at most this often.
        "LOGIN_SESSION_TOUCH_SECONDS": _int(env("LOGIN_SESSION_TOUCH_SECONDS"), 300),
        # How long the password step of a two-step sign-in waits for its code.
        "TWO_STEP_PENDING_SECONDS": _int(env("TWO_STEP_PENDING_SECONDS"), 300),
        # Co-creation: accounts younger than this cannot vote for ideas (vote-stuffing).
        "IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS": _int(env("IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS"), 72),
        # Messages: at most one e-mail of new messages per conversation per person in this
        # many minutes; how many conversations a person may start, and messages send.
        "MESSAGE_EMAIL_WINDOW_MINUTES": _int(env("MESSAGE_EMAIL_WINDOW_MINUTES"), 15),
        "RATELIMIT_NEW_CONVERSATIONS": env("RATELIMIT_NEW_CONVERSATIONS")
        or "5 per 10 minutes;30 per day",
        "RATELIMIT_MESSAGES": env("RATELIMIT_MESSAGES") or "30 per minute;600 per day",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": _int(env("MAX_CONTENT_LENGTH"), 64 * 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": None,
        # CSRF is checked by our own before_request hook so that API calls authenticated by a
        # bearer token (which a browser never sends on its own) can be exempted.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ["en", "fr"],
        "JOBS_INLINE": not redis_url or _bool(env("JOBS_INLINE"), False),
        # Beat's intervals by job name, in seconds or "off" (app.worker.SCHEDULE is the default).
        "JOB_SCHEDULE": env("JOB_SCHEDULE") or "",
        # Logs: "json" (one object per line) or "text"; unset, text under the debugger.
        "LOG_FORMAT": env("LOG_FORMAT") or "",
        "LOG_LEVEL": (env("LOG_LEVEL") or "INFO").upper(),
        # How many proxies in front set X-Forwarded-For/-Proto/-Host: with one (nginx, a load
        # balancer), the client's address (rate limits, logs) and https come from its headers.
        "TRUSTED_PROXIES": _int(env("TRUSTED_PROXIES"), 0),
        "STRIPE_SECRET_KEY": env("STRIPE_SECRET_KEY") or "",
        "STRIPE_WEBHOOK_SECRET": env("STRIPE_WEBHOOK_SECRET") or "",
        # How many transfers (and reversals) a second a payout run sends at most: unset, 100
        # (Stripe's live-mode write limit) with real Stripe and no limit with the emulator;
        # "0" for no limit.
        "STRIPE_WRITES_PER_SECOND": env("STRIPE_WRITES_PER_SECOND") or "",
        # Without Stripe keys: whether the emulator's dashboard and test controls answer under
        # /_stripe ("1" or "0"). Unset, only in the embedded mode (tests, or the debugger on
        # SQLite): they let anyone see every payment, refund, inject faults and reset.
        "STRIPE_EMULATOR_CONTROLS": env("STRIPE_EMULATOR_CONTROLS") or "",
        # The feature packages to wire, lowest first.
        "FEATURES": (env("KINDRED_FEATURES") or "marketplace,social,payouts")
        .replace(" ", "")
        .split(","),
        # flask-smorest / OpenAPI
        "API_TITLE": "Kindred API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": None,  # we serve our own docs page (CSP, no CDN)
    }
