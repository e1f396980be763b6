"""The e-mail of new messages, batched: at most one per conversation per person per window.

A message records that its recipient is owed an e-mail for the conversation (`owe`): the
first message not yet e-mailed starts the window, later ones join it. The digest job
(`send_due`, run by the schedule every minute and after each message) sends, for each digest
whose window has passed, one e-mail listing what arrived and is still unread; what the person
read on the site meanwhile is not e-mailed at all. The next message starts a new window, so
two e-mails of one conversation are always at least a window apart.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, ngettext
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from app import batches, mail
from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from social import notifications
from social.messages import blocks
from social.messages.models import Conversation, Message, MessageDigest, Side
from social.rules import is_suspended

BATCH = "messages.digests"
DUE_AT_ONCE = 500
SHOWN_IN_EMAIL = 10


def window() -> timedelta:
    return timedelta(minutes=float(current_app.config.get("MESSAGE_EMAIL_WINDOW_MINUTES", 15)))


def owe(conversation_id: int, recipient_id: int, message_id: int) -> None:
    """Record that the recipient is owed an e-mail for this message (one statement each, so
    two messages at once start one window, from the first)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    db.session.execute(
        insert(MessageDigest)
        .values(
            conversation_id=conversation_id,
            recipient_id=recipient_id,
            pending_since=now,
            first_message_id=message_id,
            sent_count=0,
        )
        .on_conflict_do_nothing(index_elements=["conversation_id", "recipient_id"])
    )
    db.session.execute(
        update(MessageDigest)
        .where(
            MessageDigest.conversation_id == conversation_id,
            MessageDigest.recipient_id == recipient_id,
            MessageDigest.pending_since.is_(None),
        )
        .values(pending_since=now, first_message_id=message_id)
        .execution_options(synchronize_session=False)
    )


def send_due() -> int:
    """Send every digest whose window has passed; returns how many e-mails went out. A digest
    that fails is rolled back, logged and tried again on the next run; the others go on."""
    cutoff = utcnow() - window()
    due = list(
        db.session.scalars(
            select(MessageDigest.id)
            .where(MessageDigest.pending_since.is_not(None), MessageDigest.pending_since <= cutoff)
            .order_by(MessageDigest.pending_since)
            .limit(DUE_AT_ONCE)
        )
    )
    result = batches.each(BATCH, due, _send_one, subject=lambda digest_id: f"digest {digest_id}")
    return sum(1 for sent in result.outcomes if sent)


def _send_one(digest_id: int) -> bool:
    statement = (
        select(MessageDigest)
        .where(MessageDigest.id == digest_id)
        .execution_options(populate_existing=True)
    )
    # Locked: two runs at once (the schedule and a message's run) send it once.
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    digest = db.session.scalar(statement)
    if digest is None or digest.pending_since is None or digest.pending_since > utcnow() - window():
        return False
    first = digest.first_message_id or 0
    digest.pending_since = None
    digest.first_message_id = None
    conversation = db.session.get(Conversation, digest.conversation_id)
    recipient = db.session.get(User, digest.recipient_id)
    if conversation is None or recipient is None:
        return False
    side = Side.BUYER if recipient.id == conversation.buyer_id else Side.SELLER
    seen = (conversation.buyer_seen_id if side == Side.BUYER else conversation.seller_seen_id) or 0
    arrived = list(
        db.session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conversation.id,
                Message.sender_id != recipient.id,
                Message.id >= first,
                Message.id > seen,
                Message.hidden_at.is_(None),
            )
            .options(selectinload(Message.pictures))
            .order_by(Message.id)
        )
    )
    if not arrived or not _wants_email(recipient, arrived[-1].sender_id):
        db.session.flush()
        return False
    conversation.side = side
    sender = arrived[-1].sender
    with force_locale(recipient.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = ngettext(
            "%(name)s sent you a message on Kindred",
            "%(name)s sent you %(num)d messages on Kindred",
            len(arrived),
            name=sender.name,
        )
        mail.send(
            recipient.email,
            subject,
            "messages/digest",
            user=recipient,
            sender=sender,
            conversation=conversation,
            shop=conversation.shop,
            messages=arrived[-SHOWN_IN_EMAIL:],
            more=max(0, len(arrived) - SHOWN_IN_EMAIL),
            link=notifications.absolute_url(
                "messages.conversation", conversation_id=conversation.id
            ),
            settings_link=notifications.absolute_url("social.settings"),
        )
    digest.last_sent_at = utcnow()
    digest.sent_count += 1
    db.session.flush()
    return True


def _wants_email(recipient: User, sender_id: int) -> bool:
    if not notifications.settings_for(recipient.id).email_messages:
        return False
    return not (is_suspended(recipient.id) or blocks.has_blocked(recipient.id, sender_id))
