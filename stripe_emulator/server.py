"""Flask wiring: the ``/v1`` API, hosted pages and ``/_emulator`` controls in one WSGI app.

The controls and the dashboard are served only when ``Emulator.controls`` is on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, request

from . import api
from .ids import request_id as new_request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .emulator import Emulator


class EmulatorFlask(Flask):
    """Flask app that can drop connections and deliver webhooks once a response is produced."""

    emulator: Emulator

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        app_iter = super().wsgi_app(environ, start_response)
        if environ.get(api.ABORT_ENVIRON_KEY):
            _close(app_iter)
            api.abort_connection(environ)
        if self.emulator.auto_deliver:
            # Deliver only after the view finished and its transaction committed, so the
            # receiver sees the state the event describes (and may call back into us).
            body = b"".join(app_iter)
            _close(app_iter)
            self.emulator.deliver_due_webhooks()
            return [body]
        return app_iter


def _close(app_iter: Iterable[bytes]) -> None:
    close = getattr(app_iter, "close", None)
    if close is not None:
        close()


def create_app(emu: Emulator) -> EmulatorFlask:
    app = EmulatorFlask("stripe_emulator")
    app.emulator = emu
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.before_request
    def controls_only_when_on() -> None:
        # The dashboard and /_emulator/ answer only where the emulator is a test tool: they
        # list every payment and refund, inject faults and reset, to anyone, without a key.
        if not emu.controls and (request.path == "/" or request.path.startswith("/_emulator/")):
            abort(404)

    @app.route("/v1/<path:subpath>", methods=["GET", "POST", "DELETE"])
    def v1(subpath: str) -> Response:
        return api.handle(emu, request)

    @app.after_request
    def request_id(response: Response) -> Response:
        # API responses carry their own id; give every other response one too, like Stripe.
        if "Request-Id" not in response.headers:
            response.headers["Request-Id"] = new_request_id()
        return response

    from .controls import register_controls
    from .pages import register_pages

    register_pages(app, emu)
    register_controls(app, emu)
    return app
