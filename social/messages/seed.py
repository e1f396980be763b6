"""Demo conversations for `flask seed`: Farid asks Ana's studio about a product and Ana
answers (he has read it: "Seen"); Chloé asks Bruno's shop a question he has not read yet;
Farid writes to Bruno about his order and Bruno's answer waits for him (unread in Farid's
header)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from app.models import utcnow
from marketplace.models import Product, Shop
from marketplace.order_models import Order
from social.messages import conversations
from social.messages.conversations import Draft
from social.messages.models import Conversation, Message, MessageDigest


def _person(handle: str) -> User | None:
    return db.session.scalar(select(User).where(User.handle == handle))


def _shop_of(handle: str) -> Shop | None:
    return db.session.scalar(
        select(Shop).join(User, User.id == Shop.owner_id).where(User.handle == handle)
    )


def _product_of(shop: Shop) -> Product | None:
    return db.session.scalar(
        select(Product)
        .where(Product.shop_id == shop.id, Product.listed.is_(True))
        .order_by(Product.popularity.desc(), Product.id)
        .limit(1)
    )


def _age(conversation: Conversation, hours_ago: list[float]) -> None:
    """Spread the conversation's messages over the past (they were all written just now)."""
    now = utcnow()
    messages = list(
        db.session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
    )
    for message, hours in zip(messages, hours_ago, strict=False):
        message.created_at = now - timedelta(hours=hours)
    if messages:
        conversation.created_at = messages[0].created_at
        conversation.last_message_at = messages[-1].created_at
        for side in ("buyer", "seller"):
            if getattr(conversation, f"{side}_seen_at") is not None:
                setattr(conversation, f"{side}_seen_at", messages[-1].created_at)
    db.session.flush()


def seed_messages(progress: Progress) -> None:
    farid, chloe = _person("farid"), _person("chloe")
    ana_shop, bruno_shop = _shop_of("ana"), _shop_of("bruno")
    if None in (farid, chloe, ana_shop, bruno_shop):
        return
    assert farid and chloe and ana_shop and bruno_shop
    if db.session.scalar(select(Conversation.id).limit(1)) is not None:
        return
    told = []
    product = _product_of(ana_shop)
    if product is not None:
        asked, _m = conversations.start(
            farid,
            ana_shop,
            Draft(
                f"Hello Ana! Is the “{product.title}” dishwasher-safe? And could you ship it "
                "before the 20th? It is a birthday present."
            ),
            product_id=product.id,
        )
        conversations.send(
            ana_shop.owner,
            asked,
            Draft(
                "Hi Farid! Yes, it is glazed inside and out, so the dishwasher is fine. "
                "If you order by Thursday it leaves on Friday and arrives well before the 20th."
            ),
        )
        conversations.send(farid, asked, Draft("Perfect, thank you! Ordering now."))
        conversations.mark_read(ana_shop.owner, asked)
        _age(asked, [30, 28, 27.5])
        told.append(f"@farid asked {ana_shop.name} about “{product.title}”; Ana answered")
    other = _product_of(bruno_shop)
    if other is not None:
        question, _m = conversations.start(
            chloe,
            bruno_shop,
            Draft(
                f"Hi Bruno, I would love to feature “{other.title}” in a collection. "
                "Do you have a photo of it in daylight?"
            ),
            product_id=other.id,
        )
        _age(question, [3])
        told.append(f"@chloe asked {bruno_shop.name} a question (unread for Bruno)")
    order = db.session.scalar(
        select(Order)
        .where(Order.buyer_id == farid.id, Order.shop_id == bruno_shop.id)
        .order_by(Order.id.desc())
        .limit(1)
    )
    if order is not None:
        about, _m = conversations.start(
            farid, bruno_shop, Draft("Hello! Could you gift-wrap this order?"), order_id=order.id
        )
        conversations.mark_read(bruno_shop.owner, about)
        conversations.send(
            bruno_shop.owner,
            about,
            Draft(
                "Of course, I will wrap it in recycled paper with a little card. "
                "Tell me what the card should say!"
            ),
        )
        _age(about, [5, 1])
        told.append(f"{bruno_shop.name} answered @farid about order {order.reference} (unread)")
    # The demo's e-mails are the ones of what happens while it runs, not of its history.
    db.session.execute(update(MessageDigest).values(pending_since=None, first_message_id=None))
    progress.step("; ".join(told) or "no conversations (no demo shops)")
