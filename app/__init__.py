"""Kindred's app factory.

`create_app()` builds the Flask app from the environment; `create_app({...})` overrides any
setting (tests do). Feature packages are wired by name (config FEATURES) through their
`init_app(app)`, so this package never imports a feature.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, g, request
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, Map

from app import config as config_module
from app.models import INT_MAX


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: at most INT_MAX, so a huge number is a 404, not a database
    error (SQLite and PostgreSQL both refuse to compare a column with it)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = INT_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class FormRequest(Request):
    """Form fields as the page held them. A browser sends a text area's line breaks as CRLF,
    so each would count twice against a length limit the page's own `maxlength` counts once,
    and the stored text would differ from the same text sent through the API."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form and any("\r" in value for _key, value in form.items(multi=True)):
            self.__dict__["form"] = ImmutableMultiDict(
                (key, value.replace("\r\n", "\n").replace("\r", "\n"))
                for key, value in form.items(multi=True)
            )


def create_app(config: dict[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("KINDRED_INSTANCE_PATH") or (config or {}).get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.request_class = FormRequest
    app.url_map.converters["int"] = IdConverter
    app.config.update(config_module.from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    config_module.apply_engine_defaults(app.config)

    register_logging(app)
    register_first_checks(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_features(app)
    register_commands(app)
    register_template_context(app)
    register_jobs_backend(app)
    register_proxy_fix(app)
    return app


def register_logging(app: Flask) -> None:
    # First, so the request id is set before any other hook can log.
    from app import logging as app_logging

    app_logging.init_app(app)


def register_first_checks(app: Flask) -> None:
    """The first before-request hooks, in this order, ahead of every other (the extensions,
    the CSRF check, the input checks and the features register theirs after): the request id,
    so every answer and log line carries it; then the answer to a URL that does not exist or a
    method it does not take (404, or 405 with `Allow`), before anything reads the request."""
    from app import errors
    from app import logging as app_logging

    app.before_request(app_logging.assign_request_id)
    app.before_request(errors.routing_first)


def register_extensions(app: Flask) -> None:
    from app import api, batches, database, i18n, media, page_cache, page_parts, security, uow
    from app.extensions import csrf, db, limiter, migrate

    assert batches.BatchFailure.__table__ is not None  # its table is part of the metadata

    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
        include_name=database.include_name,
    )
    uow.init_app(app)
    csrf.init_app(app)
    app.jinja_env.globals["csrf_token"] = _csrf_token
    limiter.init_app(app)
    _limits_only_where_they_apply(app)
    page_cache.init_app(app)
    page_parts.init_app(app)
    page_parts.register(app, "nav", "parts/nav.html")
    i18n.init_app(app)
    security.init_app(app)
    media.init_app(app)
    _init_login(app)
    api.init_app(app)

    @app.before_request
    def _csrf_unless_token() -> Response | None:
        # A bearer token is never sent by a browser on its own, so token-authenticated API
        # calls cannot be forged cross-site; everything else needs the CSRF token.
        if request.method in uow.SAFE_METHODS or g.get("api_token_user"):
            return None
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "_kindred_csrf_exempt", False):
            return None
        if (
            request.path.startswith(f"{api.API_PREFIX}/")
            and not current_user.is_authenticated
            and api.needs_login(view, request.method)
        ):
            # Nobody is logged in, so nothing can be forged: say what is really missing.
            return api.unauthorized()
        csrf.protect()
        return None


def _csrf_token() -> str:
    """The request's CSRF token for templates: made once by Flask-WTF, which keeps it in `g`
    (a page has five forms or so; each call of Flask-WTF's own reads its settings again)."""
    from flask_wtf.csrf import generate_csrf

    token = g.get("csrf_token")
    return str(token) if token else str(generate_csrf())


def _limits_only_where_they_apply(app: Flask) -> None:
    """Every limit here decorates its own view (the log-in, the sign-up, uploads...), and a
    decorated view checks its limits itself. Flask-Limiter's before-request check is for
    limits on every request (default, application or meta limits): with none configured it
    finds nothing, at a cost on every request, so it is taken off."""
    from app.extensions import limiter

    if any(app.config.get(f"RATELIMIT_{kind}") for kind in ("DEFAULT", "APPLICATION", "META")):
        return
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[:] = [hook for hook in hooks if hook != limiter._check_request_limit]


def _init_login(app: Flask) -> None:
    from flask_babel import gettext as _
    from flask_babel import lazy_gettext

    from app import api
    from app.accounts import services as accounts
    from app.api import bearer_token, unauthorized
    from app.errors import problem
    from app.extensions import login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(accounts.load_session_user)

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import flash, redirect, url_for

        if request.path.startswith("/api/"):
            return unauthorized()
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def _token_auth():
        if not request.path.startswith("/api/"):
            return None
        secret = bearer_token()
        if secret is None:
            return None
        user = accounts.user_for_token(secret)
        if user is None:
            return unauthorized()
        # Flask-Login keeps the request's user in g._login_user; a token request uses the
        # token's user and never touches the session cookie.
        g._login_user = user
        g.api_token_user = user
        view = app.view_functions.get(request.endpoint or "")
        scope = api.required_scope(view, request.method) if view is not None else None
        if scope is not None and not accounts.has_scope(scope):
            return problem(
                403,
                _("This token may not do that: it needs the “%(scope)s” scope.", scope=scope),
                _("Create a token with that scope on your account page."),
            )
        return None


def register_blueprints(app: Flask) -> None:
    from app import health
    from app.accounts import api as accounts_api
    from app.accounts import views as accounts_views
    from app.views import blueprint as core_views

    app.register_blueprint(core_views)
    health.init_app(app)
    app.register_blueprint(accounts_views.auth)
    app.register_blueprint(accounts_views.account)
    app.register_blueprint(accounts_views.profiles)
    accounts_api.register()


def register_errorhandlers(app: Flask) -> None:
    from app import errors

    errors.init_app(app)


def register_features(app: Flask) -> None:
    for name in app.config["FEATURES"]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)


def register_commands(app: Flask) -> None:
    from app import commands
    from app.accounts.seed import seed_people
    from app.hooks import add_seeder

    commands.init_app(app)
    add_seeder(app, 10, "people", seed_people)


def register_jobs_backend(app: Flask) -> None:
    # After the features: the beat schedule is built from the jobs they registered.
    from app import worker

    worker.init_app(app)


def register_proxy_fix(app: Flask) -> None:
    # Outermost (after the features wrapped wsgi_app), so every layer sees the real client.
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


def register_template_context(app: Flask) -> None:
    from app import navigation, urls

    urls.init_app(app)
    navigation.init_app(app)
