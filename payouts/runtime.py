"""How the app reaches Stripe: real Stripe with keys, or the emulator in-process without.

With no STRIPE_SECRET_KEY the app runs emulated, in one process: the SDK reaches the
emulator through its in-process transport, the emulator's hosted pages (checkout, Express
onboarding) are served under /_stripe, and its webhooks reach our own /webhooks/stripe
endpoint in-process, signed with a real endpoint secret. Its dashboard and test controls
answer there only in the embedded mode (see `emulator_controls`). The code that uses the
gateway is the same either way.
"""

from __future__ import annotations

import contextvars
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import stripe
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from payouts.gateway import STRIPE_WRITES_PER_SECOND, RateLimit, StripeGateway

EMULATOR_PREFIX = "/_stripe"
WEBHOOK_PATH = "/webhooks/stripe"
EMULATED_KEY = "sk_test_kindred_emulated"


def gateway(app: Flask | None = None) -> StripeGateway:
    app = app or current_app
    return app.extensions["kindred_stripe_gateway"]


def emulator(app: Flask | None = None) -> Any:
    """The in-process emulator (None when talking to real Stripe)."""
    app = app or current_app
    return app.extensions.get("kindred_stripe_emulator")


def is_emulated(app: Flask | None = None) -> bool:
    return emulator(app) is not None


def deliver_webhooks(app: Flask | None = None) -> int:
    """Deliver the emulator's due webhooks now (a no-op against real Stripe)."""
    emu = emulator(app)
    if emu is None:
        return 0
    from app.extensions import db

    if db.session().in_transaction():
        # The webhook handlers write through their own session; on SQLite they would wait
        # for this transaction's lock, in this very thread.
        raise RuntimeError("commit (uow.checkpoint) before delivering webhooks in-process")
    return int(emu.deliver_due_webhooks())


def init_app(app: Flask) -> None:
    secret_key = app.config.get("STRIPE_SECRET_KEY") or ""
    if secret_key:
        client = stripe.StripeClient(secret_key, max_network_retries=2)
        app.extensions["kindred_stripe_gateway"] = StripeGateway(
            client,
            webhook_secret=app.config.get("STRIPE_WEBHOOK_SECRET") or "",
            rate_limit=RateLimit(writes_per_second(app.config, STRIPE_WRITES_PER_SECOND)),
        )
        return
    _install_emulator(app)


def writes_per_second(config: Mapping[str, Any], default: float | None) -> float | None:
    """STRIPE_WRITES_PER_SECOND as a rate (None: no limit), `default` when unset."""
    setting = str(config.get("STRIPE_WRITES_PER_SECOND") or "").strip()
    if not setting:
        return default
    rate = float(setting)
    return rate if rate > 0 else None


class _DeliverAfterResponse:
    """WSGI middleware: once a response has been sent, deliver the emulator's due webhooks.

    Delivering inside the request that caused the event would re-enter the app while that
    request may still hold its transaction; after the response it is like Stripe calling back.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], deliver: Callable[[], Any]):
        self.wsgi_app = wsgi_app
        self.deliver = deliver
        self.local = threading.local()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if getattr(self.local, "busy", False):
            return self.wsgi_app(environ, start_response)
        response = self.wsgi_app(environ, start_response)
        return _ClosingIterator(response, self._after)

    def _after(self) -> None:
        self.local.busy = True
        try:
            self.deliver()
        finally:
            self.local.busy = False


class _ClosingIterator:
    def __init__(self, iterable: Iterable[bytes], callback: Callable[[], None]):
        self.iterable = iterable
        self.callback = callback

    def __iter__(self) -> Any:
        return iter(self.iterable)

    def close(self) -> None:
        try:
            close = getattr(self.iterable, "close", None)
            if close:
                close()
        finally:
            self.callback()


def _install_emulator(app: Flask) -> None:
    from stripe_emulator import Emulator

    db_path = _emulator_db_path(app)
    base_url = app.config["BASE_URL"]
    emu = Emulator(
        db_path=db_path,
        public_url=base_url + EMULATOR_PREFIX,
        pending_seconds=int(app.config.get("STRIPE_EMULATOR_PENDING_SECONDS", 2 * 86400)),
        auto_deliver=False,
        controls=emulator_controls(app.config, testing=app.testing, debug=app.debug),
    )
    flask_wsgi = app.wsgi_app
    delivery_client = Client(flask_wsgi)

    def send_in_process(url: str, body: bytes, headers: dict[str, str]) -> int:
        # A fresh context: the delivery is its own request, not part of the caller's.
        response = contextvars.Context().run(
            delivery_client.post, WEBHOOK_PATH, data=body, headers=headers
        )
        return int(response.status_code)

    emu.webhook_sender = send_in_process
    retry_sleep = 0.0 if app.testing else None
    client = stripe.StripeClient(
        EMULATED_KEY, http_client=emu.http_client(retry_sleep=retry_sleep), max_network_retries=2
    )
    webhook_secret = _ensure_webhook_endpoint(app, client, base_url + WEBHOOK_PATH)
    secret_path = _secret_path(app)
    # The emulator has no rate limit to keep to (its 429s are injected faults); the suite
    # waits for no pause after them, as the SDK's retries do not.
    rate_limit = RateLimit(
        writes_per_second(app.config, None), sleep=_no_wait if app.testing else time.sleep
    )
    gateway = EmulatedGateway(
        client,
        SharedWebhookSecret(secret_path, webhook_secret) if secret_path else None,
        rate_limit,
    )
    gateway.webhook_secret = webhook_secret
    app.extensions["kindred_stripe_emulator"] = emu
    app.extensions["kindred_stripe_gateway"] = gateway

    mounted = DispatcherMiddleware(flask_wsgi, {EMULATOR_PREFIX: emu.wsgi_app})
    if app.config.get("STRIPE_EMULATOR_AUTO_DELIVER", True):
        app.wsgi_app = _DeliverAfterResponse(mounted, emu.deliver_due_webhooks)  # type: ignore[method-assign]
    else:
        app.wsgi_app = mounted  # type: ignore[method-assign]

    from app.hooks import hooks

    hooks(app).banners.append(_emulated_banner)


def _no_wait(_seconds: float) -> None:
    return None


def emulator_controls(config: Mapping[str, Any], testing: bool, debug: bool) -> bool:
    """Whether the emulator's controls and dashboard answer under /_stripe.

    They let anyone list every payment, refund, inject faults and reset, without a key: fine
    in the embedded mode (tests, or the debugger on the default SQLite database: one person on
    their own machine), not on a server. STRIPE_EMULATOR_CONTROLS says so either way.
    """
    setting = config.get("STRIPE_EMULATOR_CONTROLS")
    if isinstance(setting, bool):
        return setting
    if setting not in (None, ""):
        return str(setting).strip().lower() in {"1", "true", "yes", "on"}
    embedded = str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite")
    return testing or (debug and embedded)


def _emulated_banner() -> Markup:
    emu = emulator()
    return _banner_in(str(get_locale() or "en"), bool(emu is not None and emu.controls))


@lru_cache(maxsize=32)
def _banner_in(locale: str, with_dashboard: bool) -> Markup:
    # On every page and the same for everyone: built once per language.
    notice = _l("Payments are emulated: no real money moves, and test cards work.")
    if not with_dashboard:
        return Markup("{}").format(notice)
    return Markup('{} <a href="{}">{}</a>').format(
        notice,
        EMULATOR_PREFIX + "/_emulator/dashboard",
        _l("Open the Stripe emulator"),
    )


def _secret_path(app: Flask) -> Path | None:
    """Where the emulated endpoint's id and secret are kept: beside the emulator's state, which
    every process of the instance (server workers, `flask` commands, job workers) shares.
    None when the emulator lives in memory and so belongs to this one app."""
    db_path = _emulator_db_path(app)
    if db_path == ":memory:":
        return None
    return Path(db_path + "-webhook-secret")


def _emulator_db_path(app: Flask) -> str:
    return str(
        app.config.get("STRIPE_EMULATOR_DB") or Path(app.instance_path) / "stripe-emulator.sqlite3"
    )


class SharedWebhookSecret:
    """The signing secret of the one emulated endpoint, read from the shared file.

    Verification asks for it each time: a process that made the endpoint anew (the file was
    lost) has changed it for everyone, and a running server follows without a restart. The
    file is read again only when it changed.
    """

    def __init__(self, path: Path, secret: str) -> None:
        self.path = path
        self._secret = secret
        self._seen: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            try:
                stat = self.path.stat()
            except OSError:
                return self._secret  # being replaced, or gone: the last one known still holds
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen != self._seen:
                _endpoint_id, secret = _read_secret_file(self.path)
                if secret:
                    self._secret, self._seen = secret, seen
            return self._secret

    def set(self, secret: str) -> None:
        with self._lock:
            self._secret = secret
            self._seen = None


class EmulatedGateway(StripeGateway):
    """The gateway of the emulated mode: the webhook secret is the instance's shared one."""

    def __init__(
        self,
        client: stripe.StripeClient,
        shared: SharedWebhookSecret | None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self._shared = shared
        self._own_secret = ""
        super().__init__(client, rate_limit=rate_limit)

    @property
    def webhook_secret(self) -> str:
        return self._shared.get() if self._shared is not None else self._own_secret

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        if self._shared is not None:
            self._shared.set(value)
        self._own_secret = value

    def browser_url(self, url: str) -> str:
        """The emulator's hosted pages are served by this app under /_stripe, so they are
        opened at the address the person is using (any host and port), not the one the page
        was made at: a page at another origin is refused by the CSP's form-action after the
        form that leads to it, and nothing shows."""
        parts = urlsplit(url)
        if not has_request_context() or not parts.path.startswith(EMULATOR_PREFIX + "/"):
            return url
        here = urlsplit(request.host_url)
        return urlunsplit((here.scheme, here.netloc, parts.path, parts.query, parts.fragment))


def _read_secret_file(path: Path) -> tuple[str, str]:
    try:
        endpoint_id, _sep, secret = path.read_text().strip().partition(" ")
    except OSError:
        return "", ""
    return endpoint_id, secret


def _write_secret_file(path: Path, endpoint_id: str, secret: str) -> None:
    # Readers never see half a file: a private temporary file renamed over the old one.
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{endpoint_id} {secret}")
    os.replace(partial, path)


@contextmanager
def _exclusively(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (other processes, and other threads, wait)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_live(client: stripe.StripeClient, endpoint_id: str) -> bool:
    if not endpoint_id:
        return False
    try:
        endpoint = client.v1.webhook_endpoints.retrieve(endpoint_id)
    except stripe.InvalidRequestError:
        return False
    return bool(endpoint.status == "enabled")


def _ensure_webhook_endpoint(app: Flask, client: stripe.StripeClient, url: str) -> str:
    """Register our webhook endpoint with the emulator once per instance; return its secret.

    Every process on the instance shares the emulator's state, and whichever process delivers
    an event delivers it to itself, in-process. So there is one endpoint for all of them,
    whatever BASE_URL each was started with, and its secret is kept beside the emulator's state
    (Stripe shows it only at creation). A process adopts the endpoint it finds there; only when
    it is gone (or never made) does it make one, under a file lock so that processes starting
    together make one between them. An endpoint is never deleted while it is the shared one.
    """
    path = _secret_path(app)
    if path is None:
        return _fresh_endpoint(client, url)
    with _exclusively(path.with_name(path.name + ".lock")):
        endpoint_id, secret = _read_secret_file(path)
        if not (secret and _is_live(client, endpoint_id)):
            created = client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]})
            endpoint_id, secret = created.id, created.secret or ""
            _write_secret_file(path, endpoint_id, secret)
        # Our endpoints that are not the shared one have a secret nobody knows any more (an
        # older layout, or a lost file): what they are sent could never be verified.
        for endpoint in client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
            if endpoint.id != endpoint_id and urlsplit(endpoint.url).path == WEBHOOK_PATH:
                client.v1.webhook_endpoints.delete(endpoint.id)
    return secret


def _fresh_endpoint(client: stripe.StripeClient, url: str) -> str:
    """An emulator in memory is this app's alone: any endpoint of ours in it is stale."""
    for endpoint in client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
        if urlsplit(endpoint.url).path == WEBHOOK_PATH:
            client.v1.webhook_endpoints.delete(endpoint.id)
    created = client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]})
    return created.secret or ""
