"""The poll as the API shows it: its options (with their counts when the results may be
seen), its state, and what the person asking has voted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from marshmallow import Schema, fields

from app.accounts.models import User
from app.api import object_id
from app.media import media_url
from app.models import utcnow
from social.polls import services as polls
from social.polls.models import Poll, PollOption


@dataclass
class PollSeen:
    """A poll as one person sees it at one moment (what the schema dumps)."""

    poll: Poll
    viewer: User | None
    now: datetime
    my_choice: int | None  # the option the viewer chose, read once

    def __getattr__(self, name: str) -> object:
        return getattr(self.poll, name)

    @classmethod
    def of(cls, poll: Poll, viewer: User | None) -> PollSeen:
        return cls(poll, viewer, utcnow(), polls.choice_of(viewer, poll))

    @classmethod
    def all_of(cls, found: Sequence[Poll], viewer: User | None) -> list[PollSeen]:
        """A page of polls, with the viewer's choices in them read in one query."""
        chosen = polls.choices_of(viewer, [poll.id for poll in found])
        now = utcnow()
        return [cls(poll, viewer, now, chosen.get(poll.id)) for poll in found]

    @property
    def state(self) -> str:
        return self.poll.state(self.now)

    @property
    def results_visible(self) -> bool:
        return polls.results_shown_to(self.viewer, self.poll, self.now)

    @property
    def may_vote(self) -> bool:
        return (
            self.my_choice is None and polls.vote_refusal(self.viewer, self.poll, self.now) is None
        )

    @property
    def vote_count(self) -> int | None:
        return self.poll.vote_count if self.results_visible else None

    @property
    def options(self) -> list[OptionSeen]:
        return [OptionSeen(option, self.results_visible) for option in self.poll.options]

    @property
    def url(self) -> str:
        return url_for("polls.show", poll_id=self.poll.id, _external=True)


@dataclass
class OptionSeen:
    option: PollOption
    results_visible: bool

    @property
    def id(self) -> int:
        return self.option.id

    @property
    def label(self) -> str:
        return self.option.label

    @property
    def image_url(self) -> str | None:
        return media_url(self.option.image_key)

    @property
    def thumb_url(self) -> str | None:
        return media_url(self.option.thumb_key)

    @property
    def vote_count(self) -> int | None:
        return self.option.vote_count if self.results_visible else None


class PollOptionSchema(Schema):
    id = fields.Integer(metadata={"example": 12})
    label = fields.String(metadata={"example": "Speckled sage"})
    image_url = fields.String(
        allow_none=True, metadata={"example": "https://kindred.example/media/3f/sage.webp"}
    )
    thumb_url = fields.String(
        allow_none=True, metadata={"example": "https://kindred.example/media/3f/sage-480.webp"}
    )
    vote_count = fields.Integer(
        allow_none=True,
        metadata={"example": 7, "description": "null while the results are kept for the close"},
    )


class PollSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    shop_id = fields.Integer(metadata={"example": 1})
    question = fields.String(metadata={"example": "Which glaze should the next bowl have?"})
    details = fields.String(metadata={"example": "The winner goes in the kiln next month."})
    idea_id = fields.Integer(allow_none=True, metadata={"example": 4})
    call_id = fields.Integer(allow_none=True, metadata={"example": None})
    results_shown = fields.String(metadata={"example": "live", "enum": ["live", "at_close"]})
    opens_at = fields.DateTime(metadata={"example": "2026-12-08T09:00:00+00:00"})
    closes_at = fields.DateTime(metadata={"example": "2026-12-14T23:59:59+00:00"})
    state = fields.String(metadata={"example": "open", "enum": ["upcoming", "open", "closed"]})
    results_visible = fields.Boolean(metadata={"example": True})
    vote_count = fields.Integer(allow_none=True, metadata={"example": 12})
    my_choice = fields.Integer(
        allow_none=True, metadata={"example": 12, "description": "the option you chose"}
    )
    may_vote = fields.Boolean(metadata={"example": False})
    options = fields.List(fields.Nested(PollOptionSchema))
    url = fields.String(metadata={"example": "https://kindred.example/polls/3"})


class PollPageSchema(Schema):
    items = fields.List(fields.Nested(PollSchema))
    page = fields.Integer(metadata={"example": 1})
    has_next = fields.Boolean(metadata={"example": False})


class VoteSchema(Schema):
    option_id = object_id(required=True, strict=True, metadata={"example": 12})
