"""URL building for pages, remembered.

A page builds dozens of URLs (each product card links to its product, its picture and its
shop), and building one through Flask and the URL map costs some 15 µs. What `url_for`
returns depends only on its arguments, the URL map (fixed once the app serves) and what the
request's adapter was bound to (host, script root, scheme, method), so the answer is kept
under all of those and reused by later requests. The store is bounded: emptied when full.

Templates get this `url_for`; Python code can call `url_for` from here too. Outside a
request (mail written by a job), for endpoints relative to the current blueprint (".x"),
or once the app has URL defaults functions (whose values may depend on the request),
it is Flask's own, unremembered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_request_context, request

MAX_KEPT = 10_000

# What Werkzeug's adapter reads from the request when it is bound (bind_to_environ).
_ENVIRON_KEYS = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "wsgi.url_scheme",
    "REQUEST_METHOD",
)


def remembering_url_for(app: Flask) -> Callable[..., str]:
    kept: dict[Any, str] = {}
    build = app.url_for
    defaults = app.url_default_functions

    def url_for(endpoint: str, /, **values: Any) -> str:
        if endpoint[:1] == "." or not has_request_context() or any(defaults.values()):
            return build(endpoint, **values)
        environ = request.environ
        try:
            key = (
                endpoint,
                tuple(sorted(values.items())),
                *[environ.get(name) for name in _ENVIRON_KEYS],
            )
            url = kept.get(key)
        except TypeError:  # an argument that cannot be a key (a list): built every time
            return build(endpoint, **values)
        if url is None:
            url = build(endpoint, **values)
            if len(kept) >= MAX_KEPT:
                kept.clear()
            kept[key] = url
        return url

    return url_for


def url_for(endpoint: str, /, **values: Any) -> str:
    """Flask's `url_for`, remembered (see the module's docstring)."""
    remembered: Callable[..., str] | None = current_app.extensions.get("kindred_url_for")
    if remembered is None:
        return current_app.url_for(endpoint, **values)
    return remembered(endpoint, **values)


def init_app(app: Flask) -> None:
    remembered = remembering_url_for(app)
    app.extensions["kindred_url_for"] = remembered
    app.jinja_env.globals["url_for"] = remembered
