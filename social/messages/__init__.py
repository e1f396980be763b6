"""Messages: conversations between a buyer and a shop (its owner answers), about a product,
an order or nothing, with pictures; read receipts and the header's unread badge; a
notification and a batched e-mail of new messages; blocking and reporting.

`init_app` wires it: pages, the API, the header's Messages link and its badge (read with the
header's other counts, in one query), the moderators' view of a reported message, the digest
job (run every minute by the schedule, and after each message), the command that runs it,
the product, order and shop pages' "Message the seller" link, and the demo.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import hooks as app_hooks
from app import jobs
from app.hooks import NavLink


def _logged_in() -> bool:
    return bool(current_user.is_authenticated)


def _unread() -> Any:
    from social.messages import conversations

    if not current_user.is_authenticated:
        return None
    return conversations.unread_count_query(current_user.id)


def message_seller_url(
    shop_slug: str, product_id: int | None = None, order_id: int | None = None
) -> str:
    """Where "Message the seller" and "Ask a question" lead (the product, order and shop
    pages call it when messages are installed)."""
    return url_for("messages.contact", slug=shop_slug, product_id=product_id, order_id=order_id)


def _send_digests() -> None:
    from social.messages import digests

    digests.send_due()


def init_app(app: Flask) -> None:
    from social.messages import api, models, reporting, views  # noqa: F401 - models: migrations
    from social.messages.conversations import DIGEST_JOB
    from social.messages.seed import seed_messages

    # (app.config reads them from the environment; these are for an app built without it.)
    app.config.setdefault("MESSAGE_EMAIL_WINDOW_MINUTES", 15)
    app.config.setdefault("RATELIMIT_NEW_CONVERSATIONS", "5 per 10 minutes;30 per day")
    app.config.setdefault("RATELIMIT_MESSAGES", "30 per minute;600 per day")
    app.register_blueprint(views.blueprint)
    api.register()
    reporting.init_app(app)
    jobs.register(app, DIGEST_JOB, _send_digests)
    app.jinja_env.globals["message_seller_url"] = message_seller_url
    registry = app_hooks.hooks(app)
    registry.nav.append(
        NavLink(55, "messages.inbox", _l("Messages"), visible=_logged_in, badge=_unread)
    )
    app_hooks.add_seeder(app, 60, "conversations", seed_messages)

    @app.cli.group("messages")
    def messages_cli() -> None:
        """Messages: send the e-mails of new messages whose window has passed."""

    @messages_cli.command("digests")
    def digests_command() -> None:
        """Send the batched e-mails of new messages that are due (the schedule does it every
        minute in production)."""
        from app.uow import unit_of_work
        from social.messages import digests

        with unit_of_work():
            sent = digests.send_due()
        click.echo(f"Sent {sent} e-mail(s) of new messages.")
