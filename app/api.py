"""The JSON API under /api/v1: authentication, errors, OpenAPI document and docs page.

Feature packages create `flask_smorest.Blueprint`s and register them with `register()`.
A request is authenticated by a personal access token (`Authorization: Bearer kdr_…`) or by
the browser session; session requests that change state need the CSRF token like any form.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, g, render_template, request, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException

from app.errors import http_error_response, problem

API_PREFIX = "/api/v1"


class KindredApi(Api):
    def handle_http_exception(self, error: HTTPException) -> Any:
        return http_error_response(error)


api = KindredApi()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def unauthorized() -> Response:
    response = problem(
        401, _("Authentication required"), _("Send a valid personal access token or log in.")
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="kindred"'
    return response


def login_required(view):
    """API flavour of login_required: 401 problem+json instead of a redirect."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return unauthorized()
        return view(*args, **kwargs)

    return wrapper


def register(blueprint: Blueprint, path: str) -> None:
    api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{path}")


def authenticated_by_token() -> bool:
    return bool(g.get("api_token_user"))


docs = Blueprint("api_docs", __name__)


@docs.route("/api/docs")
def api_docs() -> str:
    return render_template("api/docs.html")


@docs.route("/api/docs/assets/<path:filename>")
def api_docs_asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {"description": _api_description()},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        },
    )
    api.init_app(app)
    app.register_blueprint(docs)


def _api_description() -> str:
    return (
        "Kindred's JSON API. Authenticate with a personal access token created on your "
        "account page (`Authorization: Bearer kdr_…`), or with the browser session (then "
        "state-changing calls need the `X-CSRFToken` header). Errors are "
        "`application/problem+json` with `errors` mapping each field to its messages. Amounts "
        "are integers in minor units with a currency code."
    )
