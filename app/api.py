"""The JSON API under /api/v1: authentication, errors, OpenAPI document and docs page.

Feature packages create `flask_smorest.Blueprint`s and register them with `register()`.
A request is authenticated by a personal access token (`Authorization: Bearer kdr_…`) or by
the browser session; session requests that change state need the CSRF token like any form.
"""

from __future__ import annotations

import http
from functools import wraps
from typing import Any

import swagger_ui_bundle
from apispec import BasePlugin
from flask import Flask, Response, g, render_template, request, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Api, Blueprint
from marshmallow import INCLUDE, Schema, fields, validate
from werkzeug.exceptions import HTTPException

from app.errors import PROBLEM_JSON, http_error_response, problem
from app.models import INT_MAX

API_PREFIX = "/api/v1"
# The smallest value of an INTEGER column (32 bits on PostgreSQL), as INT_MAX is the largest.
INT_MIN = -(2**31)


class Integer(fields.Integer):
    """An integer the API takes in a query or a body: within an INTEGER column's range besides
    any narrower range of its own, so a number no column holds is the field's 422, not a
    database error; the document shows the bounds (its minimum and maximum)."""

    def __init__(self, **kwargs: Any) -> None:
        given = kwargs.pop("validate", None)
        validators = [] if given is None else list(given) if isinstance(given, list) else [given]
        validators.append(validate.Range(min=INT_MIN, max=INT_MAX))
        super().__init__(validate=validators, **kwargs)


def object_id(**kwargs: Any) -> fields.Integer:
    """An object's id in a query or a body: from 1 to INT_MAX, like the ids in URLs."""
    return Integer(validate=validate.Range(min=1, max=INT_MAX), **kwargs)


class ProblemSchema(Schema):
    """How every API error is answered: application/problem+json (RFC 9457)."""

    class Meta:
        unknown = INCLUDE  # documented as open: a problem may carry more members

    type = fields.String(
        metadata={
            "description": "Always about:blank: the status says it all.",
            "example": "about:blank",
        }
    )
    title = fields.String(
        required=True,
        metadata={"description": "What went wrong, briefly.", "example": "Unprocessable Content"},
    )
    status = fields.Integer(
        required=True, metadata={"description": "The HTTP status code.", "example": 422}
    )
    detail = fields.String(
        metadata={
            "description": "What went wrong, for a person to read.",
            "example": "Some fields are not valid: see errors.",
        }
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Each invalid field (dotted path) with its messages.",
            "example": {"title": ["Shorter than minimum length 2."]},
        },
    )


# Anyone may call a public operation; a token or the session shows the caller more (a paused
# shop to its owner): authentication is optional there, and a bad token is still a 401.
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}, {"cookieAuth": []}]
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


class OperationContract(BasePlugin):
    """Completes each operation of the document from what the app does with it, so no
    operation can forget it: the error statuses it can answer (each as problem+json), and
    whether it needs authentication (operations behind `login_required`) or only takes it."""

    def __init__(self) -> None:
        self.api: KindredApi | None = None

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        app = self.api._app if self.api is not None else None
        if rule is None or app is None or not operations:
            return
        view = app.view_functions.get(rule.endpoint)
        for method, operation in operations.items():
            if method not in WRITE_METHODS | {"get"}:
                continue
            login = view is not None and needs_login(view, method)
            if not login:
                operation["security"] = OPTIONAL_AUTH
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation, bool(rule.arguments), login=login):
                responses.setdefault(str(status), http.HTTPStatus(status).name)


def _error_statuses(
    method: str, operation: dict[str, Any], in_path: bool, *, login: bool
) -> list[int]:
    """What can go wrong with an operation, and the status each is answered with."""
    # Input that cannot be read or stored, or a session call without its CSRF token; a token
    # that is not (or no longer) valid, on any operation.
    statuses = [400, 401]
    if login:
        statuses.append(403)  # another person's object
    if in_path or login or operation.get("parameters"):
        # Nothing by that id or name (in the path, or a query's category, shop…), or, for
        # /me/…, nothing of yours yet.
        statuses.append(404)
    writes = method in WRITE_METHODS
    if writes:
        statuses.append(409)  # it clashes with what exists, or changed meanwhile
    if writes or operation.get("parameters"):
        statuses.append(422)  # a field is not valid, or a rule of the marketplace says no
    if "requestBody" in operation:
        statuses.append(413)
    if writes:
        statuses.append(429)  # likes, follows and the like are rate-limited
    return statuses


class KindredApi(Api):
    ERROR_SCHEMA = ProblemSchema
    # No catch-all `default` response: each operation documents the statuses it answers.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException) -> Any:
        return http_error_response(error)

    def _register_responses(self) -> None:
        """flask-smorest's shared error responses (one per status, and the default one), as
        application/problem+json: that is what the errors are answered with."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["content"] = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            self.DEFAULT_ERROR_RESPONSE_NAME,
            {
                "description": "An error, as application/problem+json",
                "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}},
            },
            lazy=True,
        )


_contract = OperationContract()
api = KindredApi(spec_kwargs={"extra_plugins": [_contract]})
_contract.api = api


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

    wrapper._kindred_login_required = True  # type: ignore[attr-defined]
    return wrapper


def needs_login(view: Any, method: str) -> bool:
    """Whether an API view (a function, or a MethodView's handler for `method`) is wrapped in
    `login_required`."""
    handler = getattr(getattr(view, "view_class", None), method.lower(), None)
    # A MethodView's `decorators` wrap the view itself; a decorator on a method wraps that.
    return any(getattr(f, "_kindred_login_required", False) for f in (view, handler))


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def requires_scope(scope: str) -> Any:
    """Declare the token scope an API handler needs instead of the default ("read" to read
    one's own things, "write" to change them): e.g. "payouts" where money's destination
    changes."""

    def decorate(view: Any) -> Any:
        view._kindred_scope = scope
        return view

    return decorate


def required_scope(view: Any, method: str) -> str | None:
    """The scope a token needs for this handler; None for what anyone may call (a public
    operation reads the same with or without a token)."""
    if not needs_login(view, method):
        return None
    handler = getattr(getattr(view, "view_class", None), method.lower(), None)
    for candidate in (handler, view):
        declared = getattr(candidate, "_kindred_scope", None)
        if declared:
            return str(declared)
    return "read" if method.upper() in SAFE_METHODS else "write"


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
        "`application/problem+json` with `errors` mapping each field to its messages: 422 when "
        "a field is not valid or a rule of the marketplace says no (even when the request "
        "matches its schema), 400 when the request cannot be read (not JSON, nested too "
        "deeply, text with a NUL byte or a lone surrogate, which no database stores). Amounts "
        "are integers in minor units with a currency code."
    )
