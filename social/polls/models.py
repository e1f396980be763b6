"""Polls' tables: a shop's question, its options (each with a picture), and one vote per
person.

A vote is one row per person per poll (its primary key), so two votes from two tabs count
once; the counts on the poll and its option move by one atomic UPDATE per new row. A poll is
open from `opens_at` until `closes_at`. Its opening and, once closed, its result are each
announced once in the shop's followers' feeds: a conditional UPDATE of `opening_announced_at`
or `result_announced_at` decides who tells it, so two sweeps at once tell it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model
from app.models import utcnow
from marketplace.models import Shop
from social.idea_models import Idea, IdeaCall

QUESTION_MAX = 140
DETAILS_MAX = 2_000
OPTION_LABEL_MAX = 80
OPTIONS_MIN = 2
OPTIONS_MAX = 12


class PollState:
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


class ResultsShown:
    """When voters see the counts: as the votes come in, or only once the poll has closed."""

    LIVE = "live"
    AT_CLOSE = "at_close"
    ALL = (LIVE, AT_CLOSE)


class Poll(Model):
    __tablename__ = "polls"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_it_opens"),
        CheckConstraint("vote_count >= 0", name="vote_count_positive"),
        Index("ix_polls_result_due", "result_announced_at", "closes_at"),
        Index("ix_polls_shop_closes", "shop_id", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(QUESTION_MAX))
    details: Mapped[str] = mapped_column(Text, default="")
    # What it helps decide, when it is about an idea or a call for ideas.
    idea_id: Mapped[int | None] = mapped_column(
        ForeignKey("ideas.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("idea_calls.id", ondelete="SET NULL"), index=True
    )
    results_shown: Mapped[str] = mapped_column(String(16), default=ResultsShown.LIVE)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    vote_count: Mapped[int] = mapped_column(default=0)
    # Each told once in the followers' feeds: that it opened, and what won when it closed.
    opening_announced_at: Mapped[datetime | None]
    result_announced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    shop: Mapped[Shop] = relationship()
    idea: Mapped[Idea | None] = relationship()
    call: Mapped[IdeaCall | None] = relationship()
    options: Mapped[list[PollOption]] = relationship(
        order_by="PollOption.position",
        cascade="all, delete-orphan",
        back_populates="poll",
    )

    def state(self, now: datetime) -> str:
        """ "upcoming", "open" or "closed" at `now` (times come back aware: UTCDateTime)."""
        if now < self.opens_at:
            return PollState.UPCOMING
        return PollState.OPEN if now < self.closes_at else PollState.CLOSED

    @property
    def leaders(self) -> list[PollOption]:
        """The options with the most votes (several on a tie; none before any vote)."""
        if not self.vote_count:
            return []
        top = max(option.vote_count for option in self.options)
        return [option for option in self.options if option.vote_count == top]

    def percent(self, option: PollOption) -> int:
        """An option's share of the votes, rounded (for the bars; the counts are exact)."""
        return round(100 * option.vote_count / self.vote_count) if self.vote_count else 0


class PollOption(Model):
    __tablename__ = "poll_options"
    __table_args__ = (CheckConstraint("vote_count >= 0", name="vote_count_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(OPTION_LABEL_MAX))
    # The stored picture and its square thumbnail (media keys).
    image_key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    vote_count: Mapped[int] = mapped_column(default=0)

    poll: Mapped[Poll] = relationship(back_populates="options")


class PollVote(Model):
    __tablename__ = "poll_votes"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_options.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    voter: Mapped[User] = relationship()
