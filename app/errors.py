"""Errors: friendly pages for people, application/problem+json for the API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

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
        return response
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def init_app(app: Flask) -> None:
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
            return problem(error.status, error.message, None, **extra)
        return render_template(
            "errors/error.html",
            status=error.status,
            title=_titles().get(error.status, (_("Sorry"), ""))[0],
            detail=error.message,
        ), error.status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return http_error_response(error)
        app.logger.exception("unhandled error")
        return http_error_response(InternalServerError())
