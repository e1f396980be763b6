"""What a shop and its community do with polls: open one, vote, close it early, and the
sweep that tells followers when one opens and what won when it closes.

One vote per person per poll is the primary key of `poll_votes`: a second vote (another tab,
a double click, the API at the same time) loses on it and changes nothing. Counts move by
atomic UPDATEs. Votes follow the idea votes' rules: not the shop's own, not a suspended
person, not an account younger than IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import media
from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import NotFound, RuleViolation
from marketplace.models import Shop
from marketplace.pagination import Page, paginate_select
from social import ideas
from social.idea_models import Idea, IdeaCall, IdeaStatus
from social.models import EventKind, FeedEvent
from social.polls.models import (
    DETAILS_MAX,
    OPTION_LABEL_MAX,
    OPTIONS_MAX,
    OPTIONS_MIN,
    QUESTION_MAX,
    Poll,
    PollOption,
    PollState,
    PollVote,
    ResultsShown,
)
from social.rules import check_length, ensure_can_post, plain_text

# A poll runs for at most this long, and is scheduled at most this far ahead.
LONGEST = timedelta(days=90)
FURTHEST_START = timedelta(days=180)
THUMB_SIZES = (480,)


@dataclass
class OptionInput:
    label: str
    picture: bytes | None


@dataclass
class PollInput:
    question: str
    opens_at: datetime
    closes_at: datetime
    options: list[OptionInput] = field(default_factory=list)
    details: str = ""
    results_shown: str = ResultsShown.LIVE
    idea_id: int | None = None
    call_id: int | None = None


def _own_shop(actor: User, shop: Shop) -> None:
    if shop.owner_id != actor.id:
        raise NotFound(_("There is no such shop."))


def _check(shop: Shop, data: PollInput, now: datetime) -> tuple[str, str]:
    question = plain_text(data.question)
    details = plain_text(data.details)
    check_length(question, "question", QUESTION_MAX, minimum=3)
    check_length(details, "details", DETAILS_MAX)
    if data.results_shown not in ResultsShown.ALL:
        raise RuleViolation(_("Choose when the results show."), field="results_shown")
    opens, closes = data.opens_at, data.closes_at
    if closes <= max(opens, now):
        raise RuleViolation(_("The poll must close after it opens."), field="closes_at")
    if closes - opens > LONGEST:
        raise RuleViolation(
            _("A poll runs for %(days)d days at most.", days=LONGEST.days), field="closes_at"
        )
    if opens > now + FURTHEST_START:
        raise RuleViolation(
            _("Open it within %(days)d days.", days=FURTHEST_START.days), field="opens_at"
        )
    if len(data.options) < OPTIONS_MIN or len(data.options) > OPTIONS_MAX:
        raise RuleViolation(
            _(
                "Give between %(min)d and %(max)d options.",
                min=OPTIONS_MIN,
                max=OPTIONS_MAX,
            ),
            field="options",
        )
    seen: set[str] = set()
    for option in data.options:
        label = plain_text(option.label)
        check_length(label, "options", OPTION_LABEL_MAX, minimum=1)
        if label.casefold() in seen:
            raise RuleViolation(
                _("Two options are both called “%(label)s”.", label=label), field="options"
            )
        seen.add(label.casefold())
        if not option.picture:
            raise RuleViolation(_("Add a picture to “%(label)s”.", label=label), field="options")
    if data.idea_id is not None:
        idea = db.session.get(Idea, data.idea_id)
        if idea is None or idea.shop_id != shop.id or idea.status not in IdeaStatus.LIVE:
            raise NotFound(_("There is no such idea."), field="idea_id")
    if data.call_id is not None:
        call = db.session.get(IdeaCall, data.call_id)
        if call is None or call.shop_id != shop.id:
            raise NotFound(_("There is no such call for ideas."), field="call_id")
    return question, details


def open_poll(actor: User, shop: Shop, data: PollInput) -> Poll:
    """A new poll, told in the followers' feeds once it opens (at once when it opens now)."""
    _own_shop(actor, shop)
    ensure_can_post(actor)
    if not shop.is_open:
        raise RuleViolation(_("Reopen your shop to run a poll."))
    now = utcnow()
    question, details = _check(shop, data, now)
    # All or none: a refused picture leaves no file of the others behind.
    stored = media.store_images(
        [option.picture or b"" for option in data.options],
        thumbnail_sizes=THUMB_SIZES,
        field_name="options",
    )
    poll = Poll(
        shop_id=shop.id,
        shop=shop,
        question=question,
        details=details,
        results_shown=data.results_shown,
        opens_at=max(data.opens_at, now),
        closes_at=data.closes_at,
        idea_id=data.idea_id,
        call_id=data.call_id,
    )
    for position, (option, image) in enumerate(zip(data.options, stored, strict=True)):
        poll.options.append(
            PollOption(
                position=position,
                label=plain_text(option.label),
                image_key=image.key,
                thumb_key=image.thumbnails[THUMB_SIZES[0]],
            )
        )
    db.session.add(poll)
    db.session.flush()
    if poll.state(now) == PollState.OPEN:
        _announce_opening(poll.id, now)
    return poll


def get_poll(poll_id: int, viewer: User | None) -> Poll:
    """A poll as a visitor may see it: a paused shop's polls are its owner's alone."""
    poll = db.session.scalar(
        select(Poll).where(Poll.id == poll_id).options(selectinload(Poll.options))
    )
    if poll is None or (
        not poll.shop.is_open and (viewer is None or viewer.id != poll.shop.owner_id)
    ):
        raise NotFound(_("There is no such poll."))
    return poll


def shop_polls(shop: Shop, page: int = 1, per_page: int = 20) -> Page[Poll]:
    """A shop's polls: the open ones first (closing soonest), then the rest, newest first."""
    now = utcnow()
    open_first = (Poll.closes_at <= now) | (Poll.opens_at > now)
    return paginate_select(
        select(Poll)
        .where(Poll.shop_id == shop.id)
        .options(selectinload(Poll.options))
        .order_by(open_first, Poll.closes_at.desc(), Poll.id.desc()),
        page,
        per_page,
    )


def open_polls(
    *, shop_id: int | None = None, idea_id: int | None = None, call_id: int | None = None
) -> list[Poll]:
    """The polls open now of a shop, an idea or a call, closing soonest first."""
    now = utcnow()
    statement = (
        select(Poll)
        .where(Poll.opens_at <= now, Poll.closes_at > now)
        .options(selectinload(Poll.options))
        .order_by(Poll.closes_at, Poll.id)
        .limit(5)
    )
    if shop_id is not None:
        statement = statement.where(Poll.shop_id == shop_id)
    if idea_id is not None:
        statement = statement.where(Poll.idea_id == idea_id)
    if call_id is not None:
        statement = statement.where(Poll.call_id == call_id)
    return list(db.session.scalars(statement))


# --- votes ------------------------------------------------------------------------------------


def vote_refusal(actor: User | None, poll: Poll, now: datetime | None = None) -> str | None:
    """Why this person may not vote in this poll now, or None when they may."""
    now = now or utcnow()
    if actor is None:
        return _("Log in to vote.")
    if actor.id == poll.shop.owner_id:
        return _("The shop does not vote in its own polls.")
    state = poll.state(now)
    if state == PollState.UPCOMING:
        return _("Voting opens on %(when)s.", when=format_datetime(poll.opens_at, "medium"))
    if state == PollState.CLOSED:
        return _("This poll has closed.")
    if actor.created_at + ideas.min_account_age() > now:
        hours = ideas.min_account_age() // timedelta(hours=1)
        return _("New accounts can vote after %(hours)d hours.", hours=hours)
    return None


def choice_of(user: User | None, poll: Poll) -> int | None:
    """The option this person voted for, or None."""
    if user is None:
        return None
    return db.session.scalar(
        select(PollVote.option_id).where(PollVote.poll_id == poll.id, PollVote.user_id == user.id)
    )


def choices_of(user: User | None, poll_ids: list[int]) -> dict[int, int]:
    """The option this person chose in each of these polls they voted in (one query)."""
    if user is None or not poll_ids:
        return {}
    rows = db.session.execute(
        select(PollVote.poll_id, PollVote.option_id).where(
            PollVote.user_id == user.id, PollVote.poll_id.in_(poll_ids)
        )
    )
    return {poll_id: option_id for poll_id, option_id in rows}


def vote(actor: User, poll: Poll, option_id: int) -> bool:
    """Vote for one option; a person votes once per poll (a second vote changes nothing and
    says so). Returns whether the vote is new."""
    ensure_can_post(actor)
    refusal = vote_refusal(actor, poll)
    if refusal is not None:
        raise RuleViolation(refusal, status=403 if poll.state(utcnow()) == PollState.OPEN else 409)
    if option_id not in {option.id for option in poll.options}:
        raise NotFound(_("Choose one of the poll's options."), field="option_id")
    if choice_of(actor, poll) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(PollVote(poll_id=poll.id, user_id=actor.id, option_id=option_id))
    except IntegrityError:
        return False
    for model, key in ((Poll, poll.id), (PollOption, option_id)):
        db.session.execute(
            update(model)
            .where(model.id == key)
            .values(vote_count=model.vote_count + 1)
            .execution_options(synchronize_session=False)
        )
    db.session.expire(poll, ["vote_count"])
    for option in poll.options:
        if option.id == option_id:
            db.session.expire(option, ["vote_count"])
    return True


def results_shown_to(viewer: User | None, poll: Poll, now: datetime | None = None) -> bool:
    """Live results show to all; results kept for the close show to the shop until then."""
    if poll.results_shown == ResultsShown.LIVE:
        return True
    if viewer is not None and viewer.id == poll.shop.owner_id:
        return True
    return poll.state(now or utcnow()) == PollState.CLOSED


# --- the shop's changes -----------------------------------------------------------------------


def close_now(actor: User, poll: Poll) -> Poll:
    """Close an open poll before its date; its result is told at once."""
    _own_shop(actor, poll.shop)
    now = utcnow()
    if poll.state(now) != PollState.OPEN:
        raise RuleViolation(_("Only an open poll can be closed."), status=409)
    poll.closes_at = now
    db.session.flush()
    _announce_result(poll.id, now)
    return poll


def delete_poll(actor: User, poll: Poll) -> None:
    """A poll nobody voted in can go; one with votes is closed instead (voters keep it)."""
    _own_shop(actor, poll.shop)
    if poll.vote_count:
        raise RuleViolation(
            _("People have voted in this poll: close it instead of deleting it."), status=409
        )
    db.session.delete(poll)
    db.session.flush()


# --- telling followers ------------------------------------------------------------------------


def _claim(column: str, poll_id: int, now: datetime) -> bool:
    """Mark one announcement as made; only the run that marks it tells it."""
    result = db.session.execute(
        update(Poll)
        .where(Poll.id == poll_id, getattr(Poll, column).is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _announce_opening(poll_id: int, now: datetime) -> bool:
    if not _claim("opening_announced_at", poll_id, now):
        return False
    poll = db.session.get(Poll, poll_id)
    assert poll is not None
    db.session.add(FeedEvent(actor_id=poll.shop.owner_id, kind=EventKind.POLL, poll_id=poll.id))
    return True


def _announce_result(poll_id: int, now: datetime) -> bool:
    if not _claim("result_announced_at", poll_id, now):
        return False
    poll = db.session.get(Poll, poll_id)
    assert poll is not None
    db.session.add(
        FeedEvent(actor_id=poll.shop.owner_id, kind=EventKind.POLL_RESULT, poll_id=poll.id)
    )
    return True


def announce_due(now: datetime | None = None, limit: int = 200) -> int:
    """Tell the followers of every poll that opened or closed since the last sweep: each
    once, whichever sweep or request gets there first. Returns how many were told."""
    now = now or utcnow()
    told = 0
    opening = db.session.scalars(
        select(Poll.id)
        .where(Poll.opening_announced_at.is_(None), Poll.opens_at <= now)
        .order_by(Poll.opens_at)
        .limit(limit)
    ).all()
    for poll_id in opening:
        poll = db.session.get(Poll, poll_id)
        if poll is not None and poll.state(now) == PollState.CLOSED:
            # Opened and closed between two sweeps: its result says it all.
            _claim("opening_announced_at", poll_id, now)
        else:
            told += _announce_opening(poll_id, now)
    closed = db.session.scalars(
        select(Poll.id)
        .where(Poll.result_announced_at.is_(None), Poll.closes_at <= now)
        .order_by(Poll.closes_at)
        .limit(limit)
    ).all()
    told += sum(_announce_result(poll_id, now) for poll_id in closed)
    return told
