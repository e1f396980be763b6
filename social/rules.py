"""Rules every social use case shares: clean text, who may post, what others may see."""

from __future__ import annotations

import html
from typing import Any

import nh3
from flask import g, has_app_context, has_request_context
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, select

from app.accounts.models import User
from app.extensions import db
from app.rules import Forbidden, RuleViolation
from social.models import Suspension


def plain_text(raw: str | None) -> str:
    """Text as a person typed it, without any HTML: tags (and script or style contents) are
    dropped, so what is stored, and what the API returns, can never carry markup. Pages
    escape it again when they show it."""
    cleaned = nh3.clean(raw or "", tags=set())
    return html.unescape(cleaned).replace("\r\n", "\n").strip()


def check_length(value: str, field: str, maximum: int, minimum: int = 0) -> None:
    if minimum and len(value) < minimum:
        raise RuleViolation(_("This field is required."), field=field)
    if len(value) > maximum:
        raise RuleViolation(_("Use at most %(max)d characters.", max=maximum), field=field)


def is_suspended(user_id: int | None) -> bool:
    """Asked by several sections of one page; answered once per person per request."""
    if user_id is None:
        return False
    cache: dict[int, bool] | None = (
        g.setdefault("social_suspended", {}) if has_request_context() else None
    )
    if cache is not None and user_id in cache:
        return cache[user_id]
    answer = (
        db.session.scalar(select(Suspension.user_id).where(Suspension.user_id == user_id))
        is not None
    )
    if cache is not None:
        cache[user_id] = answer
    return answer


def forget_suspensions() -> None:
    if has_app_context():
        g.pop("social_suspended", None)


def ensure_can_post(actor: User) -> None:
    if is_suspended(actor.id):
        raise Forbidden(_("Your account is suspended."))


def suspended(user_column: Any) -> ColumnElement[bool]:
    """SQL: the person in `user_column` is suspended."""
    return exists(select(Suspension.user_id).where(Suspension.user_id == user_column))


def not_suspended(user_column: Any) -> ColumnElement[bool]:
    """SQL: the person in `user_column` is not suspended (their content is shown)."""
    return ~suspended(user_column)


def is_moderator(user: User | None) -> bool:
    return bool(user is not None and user.is_admin)
