"""Site-wide pages that belong to no feature: home (until the catalogue fills it), health,
and the developer's outbox."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import csrf
from app.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE
from app.mail import outbox_messages
from app.security import csrf_exempt, safe_next

blueprint = Blueprint("core", __name__)


@blueprint.get("/")
def home() -> str:
    # The catalogue feature replaces this endpoint's view with its storefront.
    return render_template("home.html")


@blueprint.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@blueprint.get("/dev/outbox")
def outbox() -> str:
    # Only where mail is not really sent and the app runs for a developer.
    if current_app.config["MAIL_SERVER"] or not (current_app.debug or current_app.testing):
        abort(404)
    return render_template("dev/outbox.html", messages=outbox_messages())


@blueprint.post("/language")
@csrf_exempt
def set_language() -> Response:
    """The footer's language switcher: English or French from now on, then back to the page.

    A visitor's pick is kept in a cookie, and needs no CSRF token: a page with a token cannot
    be shared by the cache, and this form is on every page; the worst a forged one does is
    change a visitor's language. A signed-in person's is saved in their account, so theirs
    needs the token, as every change to an account does."""
    from app.accounts.services import current_person, save_language

    if current_user.is_authenticated:
        csrf.protect()
    back = safe_next(request.form.get("next"), url_for("core.home"))
    language = request.form.get("locale", "")
    if language not in current_app.config["LANGUAGES"]:
        flash(_("Choose one of the offered languages."), "error")
        return redirect(back, 303)
    if current_user.is_authenticated:
        save_language(current_person(), language)
    response = redirect(back, 303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response
