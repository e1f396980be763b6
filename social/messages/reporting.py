"""Reporting a message to the moderators, and what they see of it.

A message is reported through social's moderation (one queue, one way to hide and suspend).
Only a side of the conversation may report a message, and only one the other side sent.
A moderator sees the reported message and the few messages just around it, reached through
the report; never the rest of the conversation, never any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.rules import Forbidden, NotFound
from social import moderation
from social.messages.conversations import conversation_for, message_in
from social.messages.models import Conversation, Message
from social.models import Report
from social.rules import is_moderator

TARGET = "message"
CONTEXT = 2  # messages shown before and after the reported one


def report(
    reporter: User, conversation: Conversation, message_id: int, reason: str, details: str = ""
) -> Report:
    message = message_in(conversation, message_id)
    if message.sender_id == reporter.id:
        raise Forbidden(_("This is your message: you cannot report it."))
    return moderation.report(reporter, TARGET, message.id, reason, details)


def _may_see(person: User, message_id: int) -> bool:
    conversation_id = db.session.scalar(
        select(Message.conversation_id).where(Message.id == message_id)
    )
    if conversation_id is None:
        return False
    try:
        conversation_for(person, conversation_id)
    except NotFound:
        return False
    return True


def _describe(found: Report, message: Any) -> tuple[str, str | None, dict[str, Any]]:
    label = message.body[:140] or _("(a picture)")
    return label, "messages.reported", {"report_id": found.id}


@dataclass
class ReportedContext:
    report: Report
    message: Message
    conversation: Conversation
    before: list[Message]
    after: list[Message]


def reported_context(moderator: User, report_id: int) -> ReportedContext:
    """The reported message with the few around it, for a moderator."""
    if not is_moderator(moderator):
        raise Forbidden(_("Only moderators can do that."))
    found = db.session.get(Report, report_id)
    message = (
        db.session.get(Message, found.target_id)
        if found is not None and found.target_type == TARGET
        else None
    )
    if found is None or message is None:
        raise NotFound(_("There is no such report."))
    conversation = message.conversation
    around = select(Message).where(Message.conversation_id == conversation.id)
    before = list(
        db.session.scalars(
            around.where(Message.id < message.id).order_by(Message.id.desc()).limit(CONTEXT)
        )
    )
    after = list(
        db.session.scalars(
            around.where(Message.id > message.id).order_by(Message.id).limit(CONTEXT)
        )
    )
    return ReportedContext(found, message, conversation, list(reversed(before)), after)


def init_app(app: Flask) -> None:
    moderation.register_kind(
        app,
        TARGET,
        moderation.ReportableKind(
            model=Message,
            author_column=Message.sender_id,
            may_see=_may_see,
            describe=_describe,
        ),
    )
