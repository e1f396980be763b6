"""Site-wide pages that belong to no feature: home (until the catalogue fills it), health,
and the developer's outbox."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from app.mail import outbox_messages

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
