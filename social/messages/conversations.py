"""Conversations between a buyer and a shop: starting one, sending, reading, the inboxes.

Only the two sides see a conversation: the buyer who started it and the shop's owner. To
anyone else (a moderator included) it does not exist: a 404. Moderators see a reported
message and the few around it through the report (social.messages.reporting), nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from app import jobs, media
from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import Forbidden, NotFound, RuleViolation
from marketplace.models import Product, Shop
from marketplace.order_models import Order
from marketplace.pagination import Page, paginate_select
from social import notifications
from social.messages import blocks
from social.messages.models import (
    BODY_MAX,
    PICTURES_MAX,
    PREVIEW_MAX,
    SUBJECT_MAX,
    Conversation,
    Message,
    MessagePicture,
    Side,
)
from social.models import Notification, NotificationKind
from social.rules import check_length, ensure_can_post, plain_text

PAGE_SIZE = 20
MESSAGES_SHOWN = 50
THUMB_SIZE = 400
TARGET = "conversation"  # a notification's target_type for a conversation
DIGEST_JOB = "messages.send_digests"


class Box:
    BUYING = "buying"
    SELLING = "selling"
    ALL = (BUYING, SELLING)


@dataclass
class Draft:
    """What a person writes: the text, and pictures as uploaded bytes."""

    body: str = ""
    pictures: Sequence[bytes] = ()


# --- who sees what ---------------------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound(_("There is no such conversation."))


def side_of(user: User, conversation: Conversation) -> str | None:
    if conversation.buyer_id == user.id:
        return Side.BUYER
    if conversation.shop.owner_id == user.id:
        return Side.SELLER
    return None


def conversation_for(user: User, conversation_id: int) -> Conversation:
    """The conversation, seen by one of its two sides; anyone else gets a 404."""
    found = db.session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .options(
            joinedload(Conversation.shop).joinedload(Shop.owner),
            joinedload(Conversation.buyer),
            joinedload(Conversation.product),
            joinedload(Conversation.order),
        )
    )
    side = side_of(user, found) if found is not None else None
    if found is None or side is None:
        raise _not_found()
    found.side = side
    return found


def message_in(conversation: Conversation, message_id: int) -> Message:
    found = db.session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation.id)
    )
    if found is None:
        raise NotFound(_("There is no such message."))
    return found


def picture_in(conversation: Conversation, picture_id: int) -> MessagePicture:
    found = db.session.scalar(
        select(MessagePicture)
        .join(Message, Message.id == MessagePicture.message_id)
        .where(
            MessagePicture.id == picture_id,
            Message.conversation_id == conversation.id,
            Message.hidden_at.is_(None),
        )
    )
    if found is None:
        raise NotFound(_("There is no such picture."))
    return found


# --- writing ---------------------------------------------------------------------------------


def _clean(draft: Draft) -> tuple[str, list[media.PreparedImage]]:
    body = plain_text(draft.body)
    check_length(body, "body", BODY_MAX)
    if len(draft.pictures) > PICTURES_MAX:
        raise RuleViolation(_("Attach at most %(n)d pictures.", n=PICTURES_MAX), field="pictures")
    if not body and not draft.pictures:
        raise RuleViolation(_("Write a message or attach a picture."), field="body")
    # Every picture checked before any is stored: a refused one leaves no file of the others.
    prepared = [
        media.prepare_image(data, thumbnail_sizes=(THUMB_SIZE,), field_name="pictures")
        for data in draft.pictures
    ]
    return body, prepared


def _preview(body: str, pictures: int) -> str:
    if body:
        flat = " ".join(body.split())
        return flat if len(flat) <= PREVIEW_MAX else flat[: PREVIEW_MAX - 1] + "…"
    return "📷"


def _add_message(sender: User, conversation: Conversation, draft: Draft) -> Message:
    body, prepared = _clean(draft)
    stored = media.save(*prepared)
    message = Message(conversation_id=conversation.id, sender_id=sender.id, body=body)
    for position, image in enumerate(stored):
        message.pictures.append(
            MessagePicture(
                position=position,
                image_key=image.key,
                thumb_key=image.thumbnails.get(THUMB_SIZE, image.key),
                width=image.width,
                height=image.height,
            )
        )
    db.session.add(message)
    db.session.flush()
    now = utcnow()
    sender_side = Side.BUYER if sender.id == conversation.buyer_id else Side.SELLER
    values: dict[str, Any] = {
        "last_message_at": now,
        "last_sender_id": sender.id,
        "last_preview": _preview(body, len(stored)),
    }
    # One statement: two messages at once each count (never a lost increment). Writing is
    # reading: the sender has seen everything up to their own message.
    if sender_side == Side.BUYER:
        values.update(
            seller_unread=Conversation.seller_unread + 1,
            buyer_unread=0,
            buyer_seen_id=message.id,
            buyer_seen_at=now,
        )
    else:
        values.update(
            buyer_unread=Conversation.buyer_unread + 1,
            seller_unread=0,
            seller_seen_id=message.id,
            seller_seen_at=now,
        )
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(conversation)
    recipient_id = (
        conversation.shop.owner_id if sender_side == Side.BUYER else conversation.buyer_id
    )
    _tell(recipient_id, sender, conversation, message)
    return message


def _tell(recipient_id: int, sender: User, conversation: Conversation, message: Message) -> None:
    """A notification (one per conversation while it is unread) and the batched e-mail."""
    from social.messages import digests

    waiting = db.session.scalar(
        select(Notification.id).where(
            Notification.recipient_id == recipient_id,
            Notification.kind == NotificationKind.MESSAGE,
            Notification.target_type == TARGET,
            Notification.target_id == conversation.id,
            Notification.read_at.is_(None),
        )
    )
    if waiting is None:
        notifications.notify(
            recipient_id,
            NotificationKind.MESSAGE,
            actor=sender,
            target_type=TARGET,
            target_id=conversation.id,
            product_id=conversation.product_id,
        )
    digests.owe(conversation.id, recipient_id, message.id)
    # Sends the digests whose window has passed (this one's has not: it waits for a later run,
    # from the schedule or from another message).
    jobs.enqueue(DIGEST_JOB)


def about_what(
    buyer: User, shop: Shop, product_id: int | None, order_id: int | None
) -> tuple[Product | None, Order | None]:
    product = order = None
    if product_id is not None:
        product = db.session.get(Product, product_id)
        if product is None or product.shop_id != shop.id or not product.listed:
            raise NotFound(_("That product is not available."), field="product_id")
    if order_id is not None:
        order = db.session.get(Order, order_id)
        if order is None or order.buyer_id != buyer.id or order.shop_id != shop.id:
            raise NotFound(_("There is no such order."), field="order_id")
    return product, order


def check_can_start(buyer: User, shop: Shop) -> None:
    """Whether `buyer` may write to `shop` at all (before they type anything)."""
    if shop.owner_id == buyer.id:
        raise Forbidden(_("This is your shop: you cannot send it a message."))
    ensure_can_post(buyer)
    blocks.check_can_write(buyer, shop.owner_id)


def existing(
    buyer: User, shop: Shop, product_id: int | None, order_id: int | None
) -> Conversation | None:
    """The buyer's conversation with the shop about the same thing, if they have one."""
    return db.session.scalar(
        select(Conversation)
        .where(
            Conversation.buyer_id == buyer.id,
            Conversation.shop_id == shop.id,
            Conversation.product_id.is_(None)
            if product_id is None
            else Conversation.product_id == product_id,
            Conversation.order_id.is_(None)
            if order_id is None
            else Conversation.order_id == order_id,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


def start(
    buyer: User,
    shop: Shop,
    draft: Draft,
    *,
    product_id: int | None = None,
    order_id: int | None = None,
) -> tuple[Conversation, Message]:
    """Write to a shop, about a product, an order or nothing; a second message about the
    same thing goes on in the same conversation."""
    check_can_start(buyer, shop)
    product, order = about_what(buyer, shop, product_id, order_id)
    conversation = existing(buyer, shop, product_id, order_id)
    if conversation is None:
        subject = ""
        if order is not None:
            subject = _("Order %(ref)s", ref=order.reference)
        elif product is not None:
            subject = product.title
        conversation = Conversation(
            shop=shop,
            buyer=buyer,
            product_id=product_id,
            order_id=order_id,
            subject=subject[:SUBJECT_MAX],
        )
        db.session.add(conversation)
        db.session.flush()
    conversation.side = Side.BUYER
    message = _add_message(buyer, conversation, draft)
    return conversation, message


def send(sender: User, conversation: Conversation, draft: Draft) -> Message:
    """A reply in a conversation the sender is part of."""
    side = side_of(sender, conversation)
    if side is None:
        raise _not_found()
    ensure_can_post(sender)
    other = conversation.shop.owner_id if side == Side.BUYER else conversation.buyer_id
    blocks.check_can_write(sender, other)
    conversation.side = side
    return _add_message(sender, conversation, draft)


# --- reading ---------------------------------------------------------------------------------


def messages_of(
    conversation: Conversation, before: int | None = None, limit: int = MESSAGES_SHOWN
) -> tuple[list[Message], bool]:
    """The latest messages (before a message id, for earlier ones), oldest first; and
    whether there are earlier ones."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .options(selectinload(Message.pictures))
        .order_by(Message.id.desc())
        .limit(limit + 1)
    )
    if before:
        statement = statement.where(Message.id < before)
    rows = list(db.session.scalars(statement))
    return list(reversed(rows[:limit])), len(rows) > limit


def mark_read(reader: User, conversation: Conversation, through: int | None = None) -> None:
    """`reader` has seen the conversation up to message `through` (all of it by default):
    their unread count becomes what arrived after it, and its notification is read."""
    side = side_of(reader, conversation)
    if side is None:
        raise _not_found()
    latest = db.session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation.id)
    )
    if latest is None:
        return
    # Nobody has seen what is not written yet: a later id is the latest message.
    through = latest if through is None else min(through, latest)
    later = (
        select(func.count(Message.id))
        .where(
            Message.conversation_id == conversation.id,
            Message.sender_id != reader.id,
            Message.id > through,
        )
        .scalar_subquery()
    )
    seen = Conversation.buyer_seen_id if side == Side.BUYER else Conversation.seller_seen_id
    values: dict[str, Any] = (
        {"buyer_unread": later, "buyer_seen_id": func.max(func.coalesce(seen, 0), through)}
        if side == Side.BUYER
        else {"seller_unread": later, "seller_seen_id": func.max(func.coalesce(seen, 0), through)}
    )
    values[f"{side}_seen_at"] = utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        values[f"{side}_seen_id"] = func.greatest(func.coalesce(seen, 0), through)
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Notification)
        .where(
            Notification.recipient_id == reader.id,
            Notification.kind == NotificationKind.MESSAGE,
            Notification.target_type == TARGET,
            Notification.target_id == conversation.id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(conversation)
    conversation.side = side


def _shop_ids_of(user_id: int) -> Any:
    return select(Shop.id).where(Shop.owner_id == user_id).scalar_subquery()


def unread_count_query(user_id: int) -> Any:
    """SQL for the number of conversations with something unread for this person, on either
    side (a scalar subquery: the header reads it with its other badges, in one query)."""
    return (
        select(func.count(Conversation.id))
        .where(
            or_(
                and_(Conversation.buyer_id == user_id, Conversation.buyer_unread > 0),
                and_(
                    Conversation.shop_id == _shop_ids_of(user_id),
                    Conversation.seller_unread > 0,
                ),
            )
        )
        .scalar_subquery()
    )


def unread_count(user_id: int) -> int:
    return int(db.session.scalar(select(unread_count_query(user_id))) or 0)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def inbox(
    user: User,
    box: str = Box.BUYING,
    *,
    unread_only: bool = False,
    query: str = "",
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> Page[Conversation]:
    """One person's conversations on one side, the latest first: as a buyer, or their shop's.
    `query` finds words in the messages, the subject, the shop's or the other person's name."""
    side = Side.SELLER if box == Box.SELLING else Side.BUYER
    statement = select(Conversation).options(
        joinedload(Conversation.shop).joinedload(Shop.owner),
        joinedload(Conversation.buyer),
        joinedload(Conversation.product),
    )
    if side == Side.BUYER:
        statement = statement.where(Conversation.buyer_id == user.id)
        if unread_only:
            statement = statement.where(Conversation.buyer_unread > 0)
    else:
        statement = statement.where(Conversation.shop_id == _shop_ids_of(user.id))
        if unread_only:
            statement = statement.where(Conversation.seller_unread > 0)
    words = " ".join(plain_text(query).split())[:100]
    if words:
        pattern = _like(words)
        in_messages = exists(
            select(Message.id).where(
                Message.conversation_id == Conversation.id,
                Message.hidden_at.is_(None),
                func.lower(Message.body).like(pattern, escape="\\"),
            )
        )
        other = User.__table__.alias("other_person")
        statement = statement.join(Shop, Shop.id == Conversation.shop_id).join(
            other,
            other.c.id == (Conversation.buyer_id if side == Side.SELLER else Shop.owner_id),
        )
        statement = statement.where(
            or_(
                in_messages,
                func.lower(Conversation.subject).like(pattern, escape="\\"),
                func.lower(Shop.name).like(pattern, escape="\\"),
                func.lower(other.c.display_name).like(pattern, escape="\\"),
                func.lower(other.c.handle).like(pattern, escape="\\"),
            )
        )
    statement = statement.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    found: Page[Conversation] = paginate_select(statement, page, per_page)
    for conversation in found.items:
        conversation.side = side
    return found
