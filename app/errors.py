"""Errors: friendly pages for people, application/problem+json for the API."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, NotFound

from app.extensions import db
from app.rules import RuleViolation

PROBLEM_JSON = "application/problem+json"


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("Something in that request was not right.")),
        401: (_("Please log in"), _("You need to be logged in to see this.")),
        403: (_("Not allowed"), _("You do not have permission to do that.")),
        404: (_("Page not found"), _("We looked everywhere, but that page is not here.")),
        405: (_("Not allowed"), _("That action is not available here.")),
        409: (_("Conflict"), _("That clashes with something that already exists.")),
        413: (_("Too large"), _("That upload is too large.")),
        422: (_("Please check your input"), _("Some of what you sent is not valid.")),
        429: (_("Slow down"), _("Too many attempts. Please wait a moment and try again.")),
        500: (_("Something went wrong"), _("Sorry, we hit a snag. Please try again.")),
    }


def flatten_field_errors(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {"field": [...]}}); the API flattens them."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    if isinstance(messages, dict) and set(messages) <= {
        "json",
        "query",
        "form",
        "files",
        "view_args",
        "headers",
        "cookies",
    }:
        for inner in messages.values():
            walk("", inner)
    else:
        walk("", messages)
    return flat


def http_error_response(error: HTTPException) -> Response | tuple[str, int]:
    status = error.code or 500
    if status >= 500:
        return server_error_response(status)
    title, detail = _titles().get(status, (error.name, error.description or ""))
    if wants_problem_json():
        extra: dict[str, Any] = {}
        data = getattr(error, "data", None) or {}
        if "messages" in data:
            extra["errors"] = flatten_field_errors(data["messages"])
            detail = _("Some fields are not valid.")
        elif "errors" in data:
            extra["errors"] = data["errors"]
        message = data.get("message")
        if isinstance(message, str):
            detail = message
        elif status not in _titles() and error.description:
            detail = error.description
        response = problem(status, title, detail, **extra)
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        _allow(error, response)
        _retry_after(status, response)
        return response
    page = render_template("errors/error.html", status=status, title=title, detail=detail)
    if status in (405, 429):
        response = Response(page, status, mimetype="text/html")
        _allow(error, response)
        _retry_after(status, response)
        return response
    return page, status


def _allow(error: HTTPException, response: Response) -> None:
    """A 405 says which methods the URL does take (RFC 9110): Werkzeug's MethodNotAllowed
    carries them, and its own response would have sent them."""
    valid = getattr(error, "valid_methods", None)
    if error.code == 405 and valid:
        response.headers["Allow"] = ", ".join(valid)


# When a 429 knows no better (no rate limit of ours was counted for the request).
DEFAULT_RETRY_AFTER = 60


def _retry_after(status: int, response: Response, seconds: int | None = None) -> None:
    """A 429 says when to try again (RFC 6585): in `seconds`, or when the rate limit the
    request went over lets the next one through. Flask-Limiter also sets the header when its
    headers are on, keeping the later of the two."""
    if status != 429 or "Retry-After" in response.headers:
        return
    if seconds is None:
        from app.extensions import limiter

        hit = limiter.current_limit if limiter.enabled else None
        if hit is not None:
            seconds = math.ceil(hit.reset_at - time.time())
    response.headers["Retry-After"] = str(max(1, seconds or DEFAULT_RETRY_AFTER))


def _rollback_quietly() -> None:
    """Roll back whatever the failed request left behind, so that nothing after it meets a
    failed transaction. The database itself may be what failed: never let that raise."""
    try:
        db.session.rollback()
    except Exception:  # the error being answered matters more
        current_app.logger.warning("rollback failed while answering an error", exc_info=True)


def server_error_response(status: int = 500) -> Response:
    """A server error. The database may be what failed, or the request may have left its
    transaction unusable (PostgreSQL refuses every statement after a failed one), so: roll
    back first; the API's problem+json never touches the database; a page is shown in the
    site's layout when the database answers again after the rollback (the layout shows the
    visitor and their navigation), and otherwise as a standalone page that needs nothing but
    the templates."""
    _rollback_quietly()
    languages = current_app.config.get("LANGUAGES") or ["en"]
    browser_locale = request.accept_languages.best_match(languages) or languages[0]
    if wants_problem_json():
        # In the browser's language: the visitor's saved one may need the database.
        with force_locale(browser_locale):
            title, detail = _titles()[500]
            return problem(status, title, detail)
    try:
        title, detail = _titles()[500]
        page = render_template("errors/error.html", status=status, title=title, detail=detail)
    except Exception:  # the database (or what it left behind) is still failing
        current_app.logger.warning("the error page fell back to its standalone form", exc_info=True)
        _rollback_quietly()
        with force_locale(browser_locale):
            title, detail = _titles()[500]
            page = current_app.jinja_env.get_template("errors/fatal.html").render(
                status=status,
                title=title,
                detail=detail,
                locale=browser_locale,
                site_name=current_app.config.get("SITE_NAME", "Kindred"),
                url_for=url_for,
            )
    return Response(page, status, mimetype="text/html")


# --- input no database can store ------------------------------------------------------------


def unstorable(text: str) -> bool:
    """Text PostgreSQL refuses (a NUL byte) or that has no UTF-8 form at all (half of a
    surrogate pair, which JSON's \\ud800 escapes can carry)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unstorable_in_json(body: Any, found: list[str]) -> None:
    """The dotted path of each string (or key) in `body` that cannot be stored. A loop, not
    recursion: the body may be nested as deep as the parser allows."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if unstorable(value):
                found.append(path or "_schema")
        elif isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, inner in items:
                inner_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and unstorable(key):
                    found.append(inner_path)
                else:
                    stack.append((inner_path, inner))


class _BadJson(Exception):
    pass


def _json_body() -> Any:
    """The request's JSON body, parsed once here so that what the parser cannot take is a 400
    rather than a crash: nesting deeper than Python's recursion allows, an integer longer than
    Python converts (4,300 digits), bytes that are not UTF-8, or no JSON at all."""
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except RecursionError as error:
        raise _BadJson(_("The JSON body is nested too deeply.")) from error
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise _BadJson(_("The body is not valid JSON.")) from error


def refuse_unstorable_input() -> Response | tuple[str, int] | None:
    """Before any view: text in the path, the query, a form or a JSON body that no database
    could store is refused with a 400 naming each field (404 for a path), and a JSON body the
    parser cannot take with a 400, instead of a crash when it reaches the database."""
    if any(isinstance(v, str) and unstorable(v) for v in (request.view_args or {}).values()):
        return http_error_response(NotFound())
    found: list[str] = []
    for key, value in request.args.items(multi=True):
        if unstorable(key) or unstorable(value):
            found.append(key)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for key, value in request.form.items(multi=True):
            if unstorable(key) or unstorable(value):
                found.append(key)
        for key, upload in request.files.items(multi=True):
            if unstorable(key) or unstorable(upload.filename or ""):
                found.append(key)
    elif request.is_json:
        try:
            _unstorable_in_json(_json_body(), found)
        except _BadJson as bad:
            return _bad_request(str(bad), {})
    if not found:
        return None
    message = _("This holds a character that cannot be stored (a NUL byte or a lone surrogate).")
    fields = {unstorable_key(name): [message] for name in found}
    return _bad_request(
        _(
            "Some of what you sent holds a character that cannot be stored (%(fields)s): "
            "please remove it and try again.",
            fields=", ".join(fields),
        ),
        fields,
    )


def unstorable_key(name: str) -> str:
    """A field's name as it can be shown back (without the characters that made it fail)."""
    return name.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _bad_request(detail: str, errors: dict[str, list[str]]) -> Response | tuple[str, int]:
    title = _titles()[400][0]
    if wants_problem_json():
        extra: dict[str, Any] = {"errors": errors} if errors else {}
        return problem(400, title, detail, **extra)
    return render_template("errors/error.html", status=400, title=title, detail=detail), 400


def routing_first() -> None:
    """A URL that does not exist, or a method it does not take, is answered as such (404, or
    405 with `Allow`) before anything reads the request: Flask only raises it when dispatching,
    after the other before-request checks (the CSRF token, the input) have had their say. The
    app factory registers it right after the request id (app.register_first_checks)."""
    if request.routing_exception is not None:
        raise request.routing_exception


def init_app(app: Flask) -> None:
    app.before_request(refuse_unstorable_input)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        return http_error_response(error)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        if wants_problem_json():
            return problem(400, _("Missing or invalid CSRF token"), error.description)
        detail = _(
            "Your form expired or was sent from elsewhere. Please go back, reload and try again."
        )
        return render_template(
            "errors/error.html", status=400, title=_("Bad request"), detail=detail
        ), 400

    @app.errorhandler(RuleViolation)
    def _rule(error: RuleViolation) -> Any:
        if wants_problem_json():
            extra: dict[str, Any] = {"errors": error.errors} if error.errors else {}
            response = problem(error.status, error.message, None, **extra)
        else:
            page = render_template(
                "errors/error.html",
                status=error.status,
                title=_titles().get(error.status, (_("Sorry"), ""))[0],
                detail=error.message,
            )
            response = Response(page, error.status, mimetype="text/html")
        # A rate limit of the app's own (too many pictures) knows when the next is let in.
        _retry_after(error.status, response, getattr(error, "retry_after", None))
        return response

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _refused_value(error: Exception) -> Any:
        # A value the database refuses (a number beyond its column, text it cannot hold) that
        # got past a form or schema: the request was bad, not the server. Fields and
        # schemas should have caught it (and say which field); log it to find where.
        app.logger.warning("the database refused a value: %s", error, exc_info=error)
        _rollback_quietly()
        return http_error_response(BadRequest())

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return http_error_response(error)
        app.logger.exception("unhandled error")
        return server_error_response(InternalServerError.code)
