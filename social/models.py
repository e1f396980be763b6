"""Social's tables: follows, picks, collections, likes, comments, the feed's events, share
links and their clicks, attributions, notifications, settings, reports and suspensions.

Counters that every listing shows (likes and comments of a pick or collection, a share
link's clicks, add-to-carts and orders) are kept on the row and changed by one atomic
UPDATE each, so a page of cards never counts rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model
from app.models import utcnow
from marketplace.models import Product
from social.idea_models import Idea
from social.polls.models import Poll

NOTE_MAX = 1_000
COMMENT_MAX = 2_000
COLLECTION_TITLE_MAX = 80
COLLECTION_DESCRIPTION_MAX = 1_000
ITEM_NOTE_MAX = 500
REPORT_DETAILS_MAX = 1_000
COLLECTION_ITEMS_MAX = 200


class Target:
    """What a like, comment, share link or report points at."""

    PICK = "pick"
    COLLECTION = "collection"
    PRODUCT = "product"
    COMMENT = "comment"
    USER = "user"
    IDEA = "idea"

    LIKEABLE = (PICK, COLLECTION, PRODUCT)
    COMMENTABLE = (PICK, COLLECTION, IDEA)
    SHAREABLE = (PICK, COLLECTION, PRODUCT)
    REPORTABLE = (PICK, COLLECTION, COMMENT, USER)


class EventKind:
    PICK = "pick"
    COLLECTION = "collection"
    COLLECTION_ITEM = "collection_item"
    PURCHASE = "purchase"
    # Co-creation: someone submitted an idea to a shop, or voted for one.
    IDEA = "idea"
    IDEA_VOTE = "idea_vote"
    # New products of a followed person's shop come straight from the products table.
    PRODUCT = "product"
    # A shop asks its community to choose, and later tells what won.
    POLL = "poll"
    POLL_RESULT = "poll_result"


class Follow(Model):
    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        Index("ix_follows_followee", "followee_id", "created_at"),
        Index("ix_follows_follower_created", "follower_id", "created_at"),
    )

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    follower: Mapped[User] = relationship(foreign_keys=[follower_id])
    followee: Mapped[User] = relationship(foreign_keys=[followee_id])


class ShareLink(Model):
    """One person's link to one pick, collection or product: /s/<code>.

    Targets are named by type and id without a foreign key, so a link's statistics outlive
    the pick or collection it pointed at. `product_id` is the product a pick or product link
    leads to (a collection link covers the collection's products).
    """

    __tablename__ = "share_links"
    __table_args__ = (
        UniqueConstraint("sharer_id", "target_type", "target_id", name="uq_share_links_target"),
        Index("ix_share_links_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    sharer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int]
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    clicks: Mapped[int] = mapped_column(default=0)
    add_to_carts: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)
    sales_minor: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    sharer: Mapped[User] = relationship()


class Pick(Model):
    __tablename__ = "picks"
    __table_args__ = (
        Index("ix_picks_author_created", "author_id", "created_at", "id"),
        Index("ix_picks_product_created", "product_id", "created_at"),
        Index("ix_picks_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(Text, default="")
    photo_key: Mapped[str | None] = mapped_column(String(255))
    # The author's own link to this pick: the product links of the pick go through it.
    share_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL")
    )
    like_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    # Set by a moderator: the pick disappears from every page and feed.
    hidden_at: Mapped[datetime | None]

    author: Mapped[User] = relationship()
    product: Mapped[Product] = relationship()
    share_link: Mapped[ShareLink | None] = relationship()


class Collection(Model):
    __tablename__ = "collections"
    __table_args__ = (Index("ix_collections_owner_created", "owner_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(COLLECTION_TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_key: Mapped[str | None] = mapped_column(String(255))
    is_public: Mapped[bool] = mapped_column(default=True)
    share_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL")
    )
    item_count: Mapped[int] = mapped_column(default=0)
    like_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    hidden_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship()
    share_link: Mapped[ShareLink | None] = relationship()
    items: Mapped[list[CollectionItem]] = relationship(
        back_populates="collection",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CollectionItem.position, CollectionItem.id",
    )


class CollectionItem(Model):
    __tablename__ = "collection_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "product_id", name="uq_collection_items_product"),
        Index("ix_collection_items_position", "collection_id", "position"),
        Index("ix_collection_items_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(ITEM_NOTE_MAX), default="")
    position: Mapped[int] = mapped_column(default=0)
    added_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    collection: Mapped[Collection] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class Like(Model):
    __tablename__ = "likes"
    __table_args__ = (
        UniqueConstraint("user_id", "target_type", "target_id", name="uq_likes_target"),
        Index("ix_likes_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class Comment(Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_target", "target_type", "target_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int]
    # Threads are one level deep: a reply's parent is always a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    edited_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]

    author: Mapped[User] = relationship()


class FeedEvent(Model):
    """Something a person did that their followers' feeds show. The feed reads these (and
    new products of followed people's shops) at request time, newest first."""

    __tablename__ = "feed_events"
    __table_args__ = (Index("ix_feed_events_actor_created", "actor_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    pick_id: Mapped[int | None] = mapped_column(
        ForeignKey("picks.id", ondelete="CASCADE"), index=True
    )
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    idea_id: Mapped[int | None] = mapped_column(
        ForeignKey("ideas.id", ondelete="CASCADE"), index=True
    )
    poll_id: Mapped[int | None] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), index=True
    )
    # Where the event's product link goes: the pick's or collection's link, or the buyer's.
    share_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    actor: Mapped[User] = relationship()
    pick: Mapped[Pick | None] = relationship()
    collection: Mapped[Collection | None] = relationship()
    product: Mapped[Product | None] = relationship()
    share_link: Mapped[ShareLink | None] = relationship()
    idea: Mapped[Idea | None] = relationship()
    poll: Mapped[Poll | None] = relationship()


class ShareClick(Model):
    """A visit through a share link: one per visitor per link per day."""

    __tablename__ = "share_clicks"
    __table_args__ = (
        UniqueConstraint("share_link_id", "visitor", "day", name="uq_share_clicks_visit"),
        Index("ix_share_clicks_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    share_link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    # "u<id>" for a logged-in visitor, else the random id kept in the attribution cookie.
    visitor: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class CartAttribution(Model):
    """The curator a cart line came through (last click wins)."""

    __tablename__ = "cart_attributions"

    cart_line_id: Mapped[int] = mapped_column(
        ForeignKey("cart_lines.id", ondelete="CASCADE"), primary_key=True
    )
    curator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    share_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int]
    clicked_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class CheckoutAttribution(Model):
    """A checkout line's attribution, fixed when the checkout opens (payouts reads it)."""

    __tablename__ = "checkout_attributions"

    checkout_line_id: Mapped[int] = mapped_column(
        ForeignKey("checkout_lines.id", ondelete="CASCADE"), primary_key=True
    )
    checkout_id: Mapped[int] = mapped_column(index=True)
    curator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    share_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("share_links.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int]
    shop_id: Mapped[int]
    gross_minor: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    # Set once when the checkout is paid, so an order is counted once whatever happens.
    paid_at: Mapped[datetime | None]


class NotificationKind:
    FOLLOW = "follow"
    LIKE = "like"
    COMMENT = "comment"
    REPLY = "reply"
    SALE = "sale"
    # Co-creation: an idea for your shop; the shop's decision on your idea; a reward due.
    IDEA = "idea"
    IDEA_DECISION = "idea_decision"
    REWARD = "reward"
    # Something the person saved (liked): its price went down, or it is back in stock.
    PRICE_DROP = "price_drop"
    BACK_IN_STOCK = "back_in_stock"
    # A return on an order one bought or sold moved a step (e-mailed by the marketplace).
    RETURN = "return"
    # A new message in a conversation (one unread notification per conversation; its e-mail
    # is batched by social.messages.digests, not sent here).
    MESSAGE = "message"


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient", "recipient_id", "id"),
        Index("ix_notifications_unread", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str | None] = mapped_column(String(16))
    target_id: Mapped[int | None]
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    read_at: Mapped[datetime | None]

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    product: Mapped[Product | None] = relationship()


class SocialSettings(Model):
    """A person's social choices; no row means the defaults."""

    __tablename__ = "social_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Off by default: "Ana bought X from Y" in her followers' feeds.
    share_purchases: Mapped[bool] = mapped_column(default=False)
    email_follows: Mapped[bool] = mapped_column(default=True)
    email_reactions: Mapped[bool] = mapped_column(default=True)
    email_sales: Mapped[bool] = mapped_column(default=True)
    # Price drops and restocks of what they saved.
    email_saved: Mapped[bool] = mapped_column(default=True)
    # New messages, batched (at most one e-mail per conversation per window).
    email_messages: Mapped[bool] = mapped_column(default=True)


class Suspension(Model):
    """A suspended person cannot log in or post, and what they posted is hidden."""

    __tablename__ = "suspensions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    suspended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class ReportReason:
    SPAM = "spam"
    ABUSE = "abuse"
    INAPPROPRIATE = "inappropriate"
    OTHER = "other"

    ALL = (SPAM, ABUSE, INAPPROPRIATE, OTHER)


class Report(Model):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_open", "resolved_at", "id"),
        Index("ix_reports_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int]
    reason: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "hidden", "suspended" or "dismissed"
    resolution: Mapped[str | None] = mapped_column(String(16))

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])


class SavedAlertKind:
    PRICE_DROP = NotificationKind.PRICE_DROP
    BACK_IN_STOCK = NotificationKind.BACK_IN_STOCK


class SavedAlert(Model):
    """News of a saved product, told once to everyone who saved it.

    `dedupe_key` names the news (the product, what changed, the day), so the same drop or
    restock reported twice (two tabs, a double submit, a job run again) makes one alert.
    `notified_through` is the fan-out's progress: the highest recipient id told so far.
    """

    __tablename__ = "saved_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    old_price_minor: Mapped[int | None]
    new_price_minor: Mapped[int | None]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    notified_through: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    product: Mapped[Product] = relationship()
