"""How the app reaches Stripe: real Stripe with keys, or the emulator in-process without.

With no STRIPE_SECRET_KEY the app runs emulated, in one process: the SDK reaches the
emulator through its in-process transport, the emulator's hosted pages (checkout, Express
onboarding, dashboard) are served under /_stripe, and its webhooks reach our own
/webhooks/stripe endpoint in-process, signed with a real endpoint secret. The code that
uses the gateway is the same either way.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import stripe
from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from payouts.gateway import StripeGateway

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
            client, webhook_secret=app.config.get("STRIPE_WEBHOOK_SECRET") or ""
        )
        return
    _install_emulator(app)


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

    db_path = app.config.get("STRIPE_EMULATOR_DB") or str(
        Path(app.instance_path) / "stripe-emulator.sqlite3"
    )
    base_url = app.config["BASE_URL"]
    emu = Emulator(
        db_path=db_path,
        public_url=base_url + EMULATOR_PREFIX,
        pending_seconds=int(app.config.get("STRIPE_EMULATOR_PENDING_SECONDS", 2 * 86400)),
        auto_deliver=False,
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
    app.extensions["kindred_stripe_emulator"] = emu
    app.extensions["kindred_stripe_gateway"] = StripeGateway(client, webhook_secret=webhook_secret)

    mounted = DispatcherMiddleware(flask_wsgi, {EMULATOR_PREFIX: emu.wsgi_app})
    if app.config.get("STRIPE_EMULATOR_AUTO_DELIVER", True):
        app.wsgi_app = _DeliverAfterResponse(mounted, emu.deliver_due_webhooks)  # type: ignore[method-assign]
    else:
        app.wsgi_app = mounted  # type: ignore[method-assign]

    from app.hooks import hooks

    hooks(app).banners.append(_emulated_banner)


def _emulated_banner() -> Markup:
    return _banner_in(str(get_locale() or "en"))


@lru_cache(maxsize=16)
def _banner_in(locale: str) -> Markup:
    # On every page and the same for everyone: built once per language.
    return Markup('{} <a href="{}">{}</a>').format(
        _l("Payments are emulated: no real money moves, and test cards work."),
        EMULATOR_PREFIX + "/_emulator/dashboard",
        _l("Open the Stripe emulator"),
    )


def _ensure_webhook_endpoint(app: Flask, client: stripe.StripeClient, url: str) -> str:
    """Register our webhook URL with the emulator once and keep its signing secret.

    Stripe shows an endpoint's secret only when it is created, so we keep it in the instance
    folder beside the emulator's state; if either is lost, the endpoint is made anew.
    """
    secret_file = Path(app.instance_path) / "stripe-emulator-webhook-secret"
    existing = [e for e in client.v1.webhook_endpoints.list({"limit": 100}).data if e.url == url]
    if existing and secret_file.exists():
        endpoint_id, _sep, secret = secret_file.read_text().strip().partition(" ")
        if any(e.id == endpoint_id for e in existing) and secret:
            return secret
    for endpoint in existing:
        client.v1.webhook_endpoints.delete(endpoint.id)
    created = client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]})
    secret = created.secret or ""
    if app.config.get("STRIPE_EMULATOR_DB") != ":memory:":
        secret_file.write_text(f"{created.id} {secret}")
    return secret
