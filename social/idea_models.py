"""Co-creation's tables: a shop's terms, calls for ideas, ideas, votes, rewards, royalty
agreements and the members a shop names to its collective.

An idea keeps a copy of the terms it was submitted under (the rewards and the royalty rate
its call or its shop promised), so a later change of terms never changes a promise. A vote is
one row per person per idea (its primary key), and the idea's vote count is changed by one
atomic UPDATE per new row, so concurrent votes count once. A reward is one row per idea and
kind, so it is due once however often the threshold is crossed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model
from app.models import utcnow
from marketplace.models import Product, Shop

IDEA_TITLE_MAX = 120
IDEA_DESCRIPTION_MAX = 5_000
IDEA_IMAGES_MAX = 6
CALL_TITLE_MAX = 120
CALL_BRIEF_MAX = 5_000
DECLINE_REASON_MAX = 1_000
REWARD_MAX_MINOR = 10_000_00


class IdeaStatus:
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    ADOPTED = "adopted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    ALL = (SUBMITTED, SHORTLISTED, ADOPTED, DECLINED, WITHDRAWN)
    # Shown on the boards and open to votes and comments.
    LIVE = (SUBMITTED, SHORTLISTED, ADOPTED)
    # The shop can still decide on these.
    REVIEWABLE = (SUBMITTED, SHORTLISTED)


class RewardKind:
    SHORTLIST = "shortlist"
    THRESHOLD = "threshold"


class RewardStatus:
    DUE = "due"
    # The shop is paying the rest by card: the payment page is open.
    AWAITING_CARD = "awaiting_card"
    PAID = "paid"


class CoCreationTerms(Model):
    """A shop's co-creation settings; no row means the shop takes no ideas and has no pool."""

    __tablename__ = "cocreation_terms"
    __table_args__ = (
        CheckConstraint("royalty_bps >= 0 AND royalty_bps <= 10000", name="royalty_in_range"),
        CheckConstraint("pool_bps >= 0 AND pool_bps <= 10000", name="pool_in_range"),
        CheckConstraint(
            "shortlist_reward_minor >= 0 AND threshold_reward_minor >= 0", name="rewards_positive"
        ),
    )

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    # Ideas outside any call, under these default terms.
    accepts_ideas: Mapped[bool] = mapped_column(default=False)
    shortlist_reward_minor: Mapped[int] = mapped_column(default=0)
    threshold_votes: Mapped[int | None]
    threshold_reward_minor: Mapped[int] = mapped_column(default=0)
    royalty_bps: Mapped[int] = mapped_column(default=0)
    # The share of every sale that goes to the shop's collective.
    pool_bps: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class IdeaCall(Model):
    """A shop's call for ideas: a brief, a deadline and the rewards it promises."""

    __tablename__ = "idea_calls"
    __table_args__ = (
        Index("ix_idea_calls_shop", "shop_id", "created_at"),
        CheckConstraint("royalty_bps >= 0 AND royalty_bps <= 10000", name="royalty_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(CALL_TITLE_MAX))
    brief: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime | None]
    shortlist_reward_minor: Mapped[int] = mapped_column(default=0)
    threshold_votes: Mapped[int | None]
    threshold_reward_minor: Mapped[int] = mapped_column(default=0)
    royalty_bps: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None]
    idea_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    shop: Mapped[Shop] = relationship()

    def is_open(self, now: datetime) -> bool:
        deadline = self.deadline
        if deadline is not None and deadline.tzinfo is None and now.tzinfo is not None:
            now = now.replace(tzinfo=None)
        return self.closed_at is None and (deadline is None or deadline > now)


class Idea(Model):
    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_shop_votes", "shop_id", "vote_count", "id"),
        Index("ix_ideas_shop_created", "shop_id", "created_at", "id"),
        Index("ix_ideas_call_votes", "call_id", "vote_count", "id"),
        Index("ix_ideas_author", "author_id", "created_at"),
        CheckConstraint("vote_count >= 0", name="votes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("idea_calls.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(IDEA_TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    # Stored image keys: (original, thumbnail) pairs.
    images: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=IdeaStatus.SUBMITTED)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    # The promise the idea was submitted under.
    shortlist_reward_minor: Mapped[int] = mapped_column(default=0)
    threshold_votes: Mapped[int | None]
    threshold_reward_minor: Mapped[int] = mapped_column(default=0)
    royalty_bps: Mapped[int] = mapped_column(default=0)
    vote_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    threshold_reached_at: Mapped[datetime | None]
    shortlisted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    shop: Mapped[Shop] = relationship()
    call: Mapped[IdeaCall | None] = relationship()
    author: Mapped[User] = relationship()
    product: Mapped[Product | None] = relationship()

    @property
    def cover_key(self) -> str | None:
        return self.images[0][1] if self.images else None

    @property
    def progress_percent(self) -> int:
        if not self.threshold_votes:
            return 0
        return min(100, self.vote_count * 100 // self.threshold_votes)


class IdeaVote(Model):
    __tablename__ = "idea_votes"
    __table_args__ = (Index("ix_idea_votes_user", "user_id", "created_at"),)

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class IdeaReward(Model):
    """A reward the shop owes an idea's author: due once, paid once."""

    __tablename__ = "idea_rewards"
    __table_args__ = (
        UniqueConstraint("idea_id", "kind", name="uq_idea_rewards_kind"),
        Index("ix_idea_rewards_shop_status", "shop_id", "status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("paid_minor >= 0 AND paid_minor <= amount_minor", name="paid_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int]
    paid_minor: Mapped[int] = mapped_column(default=0)
    from_balance_minor: Mapped[int] = mapped_column(default=0)
    by_card_minor: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=RewardStatus.DUE)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    card_amount_minor: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    paid_at: Mapped[datetime | None]

    idea: Mapped[Idea] = relationship()
    author: Mapped[User] = relationship()

    @property
    def remaining_minor(self) -> int:
        return self.amount_minor - self.paid_minor


class RoyaltyAgreement(Model):
    """An adopted idea's author shares every sale of the product at the promised rate."""

    __tablename__ = "royalty_agreements"
    __table_args__ = (
        CheckConstraint("rate_bps > 0 AND rate_bps <= 10000", name="rate_in_range"),
        Index("ix_royalty_agreements_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rate_bps: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    author: Mapped[User] = relationship()


class PoolMember(Model):
    """Someone a shop names to its collective, with a weight (besides those who took part)."""

    __tablename__ = "pool_members"
    __table_args__ = (CheckConstraint("weight > 0 AND weight <= 100", name="weight_in_range"),)

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    user: Mapped[User] = relationship()
