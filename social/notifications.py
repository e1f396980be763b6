"""Notifications: in the site (the unread count in the navigation), and by email where the
person allows it (their social settings)."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from app import mail
from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from marketplace.models import Product
from social.idea_models import Idea
from social.models import (
    Collection,
    Notification,
    NotificationKind,
    Pick,
    SocialSettings,
    Target,
)

PAGE_SIZE = 30

# Which setting allows an email for each kind.
EMAIL_SETTING = {
    NotificationKind.FOLLOW: "email_follows",
    NotificationKind.LIKE: "email_reactions",
    NotificationKind.COMMENT: "email_reactions",
    NotificationKind.REPLY: "email_reactions",
    NotificationKind.SALE: "email_sales",
    NotificationKind.IDEA: "email_reactions",
    NotificationKind.IDEA_DECISION: "email_reactions",
    NotificationKind.REWARD: "email_sales",
    NotificationKind.PRICE_DROP: "email_saved",
    NotificationKind.BACK_IN_STOCK: "email_saved",
}


def settings_for(user_id: int) -> SocialSettings:
    """The person's settings; the defaults (not added to the session) when they have none."""
    found = db.session.get(SocialSettings, user_id)
    if found is not None:
        return found
    return SocialSettings(
        user_id=user_id,
        share_purchases=False,
        email_follows=True,
        email_reactions=True,
        email_sales=True,
        email_saved=True,
        email_messages=True,
    )


def update_settings(user: User, **choices: bool) -> SocialSettings:
    found = db.session.get(SocialSettings, user.id)
    if found is None:
        found = settings_for(user.id)
        db.session.add(found)
    for name, value in choices.items():
        if name in (
            "share_purchases",
            "email_follows",
            "email_reactions",
            "email_sales",
            "email_saved",
            "email_messages",
        ):
            setattr(found, name, bool(value))
    db.session.flush()
    return found


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for an email: built outside a request too (a webhook processed by a job)."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context("/"):
            path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"] + path


def notify(
    recipient_id: int,
    kind: str,
    *,
    actor: User | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    product_id: int | None = None,
    link: str | None = None,
    subject_text: str | None = None,
    details: dict[str, Any] | None = None,
) -> Notification | None:
    """Tell a person something happened; nobody is notified of their own actions."""
    if actor is not None and actor.id == recipient_id:
        return None
    notification = Notification(
        recipient_id=recipient_id,
        kind=kind,
        actor_id=actor.id if actor else None,
        target_type=target_type,
        target_id=target_id,
        product_id=product_id,
    )
    db.session.add(notification)
    db.session.flush()
    if getattr(settings_for(recipient_id), EMAIL_SETTING.get(kind, ""), False):
        recipient = db.session.get(User, recipient_id)
        if recipient is not None:
            _email(recipient, kind, actor, link, subject_text, details or {})
    return notification


def _email(
    recipient: User,
    kind: str,
    actor: User | None,
    link: str | None,
    what: str | None,
    details: dict[str, Any],
) -> None:
    name = actor.name if actor else ""
    with force_locale(recipient.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subjects = {
            NotificationKind.FOLLOW: _("%(name)s is following you on Kindred", name=name),
            NotificationKind.LIKE: _("%(name)s liked %(what)s", name=name, what=what or ""),
            NotificationKind.COMMENT: _(
                "%(name)s commented on %(what)s", name=name, what=what or ""
            ),
            NotificationKind.REPLY: _("%(name)s replied to your comment", name=name),
            NotificationKind.SALE: _("Someone bought through your pick: %(what)s", what=what or ""),
            NotificationKind.IDEA: _("A new idea for your shop: %(what)s", what=what or ""),
            NotificationKind.IDEA_DECISION: _("News of your idea: %(what)s", what=what or ""),
            NotificationKind.REWARD: _("Your idea earned a reward: %(what)s", what=what or ""),
            NotificationKind.PRICE_DROP: _("Price drop: %(what)s", what=what or ""),
            NotificationKind.BACK_IN_STOCK: _("Back in stock: %(what)s", what=what or ""),
        }
        mail.send(
            recipient.email,
            subjects[kind],
            "social_notification",
            user=recipient,
            kind=kind,
            actor=actor,
            what=what,
            link=link or absolute_url("social.notifications"),
            settings_link=absolute_url("social.settings"),
            details=details,
        )


def unread_count_query(user_id: int) -> Any:
    """SQL for the number of unread notifications (a scalar subquery)."""
    return (
        select(func.count(Notification.id))
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def unread_count(user_id: int) -> int:
    return int(db.session.scalar(select(unread_count_query(user_id))) or 0)


def recent(user_id: int, before: int | None = None, limit: int = PAGE_SIZE) -> list[Notification]:
    statement = (
        select(Notification)
        .where(Notification.recipient_id == user_id)
        .options(joinedload(Notification.actor), joinedload(Notification.product))
        .order_by(Notification.id.desc())
        .limit(limit + 1)
    )
    if before:
        statement = statement.where(Notification.id < before)
    return list(db.session.scalars(statement))


def subject_titles(rows: list[Notification]) -> dict[tuple[str, int], str]:
    """What each notification is about, by (target type, id): a pick's product title, a
    collection's or an idea's title. One query per kind for a whole page; rows stored before
    this was shown need nothing more, and a target since deleted is simply missing."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.target_type and row.target_id:
            wanted.setdefault(row.target_type, set()).add(row.target_id)
    statements: dict[str, Any] = {
        Target.PICK: select(Pick.id, Product.title).join(Product, Product.id == Pick.product_id),
        Target.COLLECTION: select(Collection.id, Collection.title),
        Target.IDEA: select(Idea.id, Idea.title),
    }
    titles: dict[tuple[str, int], str] = {}
    for target_type, ids in wanted.items():
        statement = statements.get(target_type)
        if statement is None:
            continue
        key = statement.selected_columns[0]
        for target_id, title in db.session.execute(statement.where(key.in_(sorted(ids)))):
            titles[(target_type, target_id)] = title
    return titles


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
