"""Co-creation: a shop's terms and calls for ideas, ideas, votes, the shop's review, rewards
due, royalty agreements and the collective's members.

What is promised is fixed on the idea when it is submitted (its call's or its shop's terms).
Rewards become due here (shortlisting, reaching the vote threshold) as one row per idea and
kind, and `reward_due` announces them: payouts pays them. Rates are checked by the guards
payouts registers (`add_rate_guard`), so that royalties, the pool, the curator commission and
the platform's fee always leave the seller the platform's minimum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from blinker import Namespace
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import media
from app.accounts.models import User
from app.database import kept_statement
from app.extensions import db
from app.models import utcnow
from app.rules import Forbidden, NotFound, RuleViolation
from marketplace import products as product_services
from marketplace.models import Product, Shop
from marketplace.pagination import Page, paginate_select
from social import notifications
from social.idea_models import (
    CALL_BRIEF_MAX,
    CALL_TITLE_MAX,
    DECLINE_REASON_MAX,
    IDEA_DESCRIPTION_MAX,
    IDEA_IMAGES_MAX,
    IDEA_TITLE_MAX,
    REWARD_MAX_MINOR,
    CoCreationTerms,
    Idea,
    IdeaCall,
    IdeaReward,
    IdeaStatus,
    IdeaVote,
    PoolMember,
    RewardKind,
    RoyaltyAgreement,
)
from social.models import Comment, EventKind, FeedEvent, NotificationKind, Target
from social.rules import (
    check_length,
    ensure_can_post,
    is_moderator,
    is_suspended,
    not_suspended,
    plain_text,
)

IMAGE_SIZES = (480,)
RATE_MAX_BPS = 5_000
VOTES_MAX = 1_000_000

_signals = Namespace()
# Sent with `reward=` when a reward becomes due (after the row is flushed).
reward_due = _signals.signal("idea-reward-due")

# (shop, royalty rates of one product in bps, pool rate in bps, curator commission in bps or
# None for the shop's own) -> raises RuleViolation
RateGuard = Callable[[Shop, int, int, int | None], None]


def add_rate_guard(app: Flask, guard: RateGuard) -> None:
    app.extensions.setdefault("kindred_rate_guards", []).append(guard)


def _check_rates(
    shop: Shop, royalty_bps: int, pool_bps: int, commission_bps: int | None = None
) -> None:
    for guard in current_app.extensions.get("kindred_rate_guards", []):
        guard(shop, royalty_bps, pool_bps, commission_bps)


def check_commission(shop: Shop, commission_bps: int) -> None:
    """A shop raising its curator commission: its royalties and pool must still fit."""
    pool = pool_bps_of(shop.id)
    royalty = _highest_royalty(shop.id)
    if pool or royalty:
        _check_rates(shop, royalty, pool, commission_bps)


# --- terms ------------------------------------------------------------------------------------


@dataclass
class Promise:
    """The rewards and the royalty a call or a shop's default terms promise."""

    shortlist_reward_minor: int = 0
    threshold_votes: int | None = None
    threshold_reward_minor: int = 0
    royalty_bps: int = 0


@dataclass
class TermsChange(Promise):
    accepts_ideas: bool = False
    pool_bps: int = 0


def terms_of(shop_id: int) -> CoCreationTerms | None:
    return db.session.get(CoCreationTerms, shop_id)


def pool_bps_of(shop_id: int) -> int:
    terms = terms_of(shop_id)
    return terms.pool_bps if terms is not None else 0


def _check_owner(actor: User, shop: Shop) -> None:
    if shop.owner_id != actor.id:
        raise Forbidden(_("Only the shop's owner can do this."))


def _check_promise(promise: Promise) -> None:
    errors: dict[str, list[str]] = {}
    for name in ("shortlist_reward_minor", "threshold_reward_minor"):
        value = getattr(promise, name)
        if value is None or not 0 <= value <= REWARD_MAX_MINOR:
            errors[name] = [_("Choose an amount between 0 and 10,000.")]
    if promise.threshold_votes is not None and not 1 <= promise.threshold_votes <= VOTES_MAX:
        errors["threshold_votes"] = [_("Choose a number of votes of at least 1.")]
    if promise.threshold_reward_minor and not promise.threshold_votes:
        errors["threshold_votes"] = [_("Say how many votes earn the vote reward.")]
    if promise.royalty_bps is None or not 0 <= promise.royalty_bps <= RATE_MAX_BPS:
        errors["royalty_bps"] = [_("Choose a royalty between 0% and 50%.")]
    if errors:
        raise RuleViolation(next(iter(errors.values()))[0], errors=errors)


def promising_shops() -> list[tuple[Shop, int, int]]:
    """The shops that promised co-creators a share of their sales: (shop, the largest total
    royalty rate of one of its products, its pool rate)."""
    with_pool = select(CoCreationTerms.shop_id).where(CoCreationTerms.pool_bps > 0)
    with_royalty = select(Product.shop_id).join(
        RoyaltyAgreement, RoyaltyAgreement.product_id == Product.id
    )
    ids = set(db.session.scalars(with_pool)) | set(db.session.scalars(with_royalty))
    if not ids:
        return []
    shops = db.session.scalars(select(Shop).where(Shop.id.in_(ids)).order_by(Shop.name))
    return [(shop, _highest_royalty(shop.id), pool_bps_of(shop.id)) for shop in shops]


def _highest_royalty(shop_id: int) -> int:
    """The largest total royalty rate of any product of the shop."""
    totals = (
        select(func.sum(RoyaltyAgreement.rate_bps).label("total"))
        .join(Product, Product.id == RoyaltyAgreement.product_id)
        .where(Product.shop_id == shop_id)
        .group_by(RoyaltyAgreement.product_id)
        .subquery()
    )
    return int(db.session.scalar(select(func.coalesce(func.max(totals.c.total), 0))) or 0)


def royalty_of_product(product_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(RoyaltyAgreement.rate_bps), 0)).where(
                RoyaltyAgreement.product_id == product_id
            )
        )
        or 0
    )


def update_terms(actor: User, shop: Shop, change: TermsChange) -> CoCreationTerms:
    _check_owner(actor, shop)
    _check_promise(change)
    if change.pool_bps is None or not 0 <= change.pool_bps <= RATE_MAX_BPS:
        raise RuleViolation(_("Choose a pool share between 0% and 50%."), field="pool_bps")
    _check_rates(shop, max(change.royalty_bps, _highest_royalty(shop.id)), change.pool_bps)
    terms = terms_of(shop.id)
    if terms is None:
        terms = CoCreationTerms(shop_id=shop.id)
        db.session.add(terms)
    for name in (
        "accepts_ideas",
        "shortlist_reward_minor",
        "threshold_votes",
        "threshold_reward_minor",
        "royalty_bps",
        "pool_bps",
    ):
        setattr(terms, name, getattr(change, name))
    terms.updated_at = utcnow()
    db.session.flush()
    return terms


# --- calls ------------------------------------------------------------------------------------


@dataclass
class CallInput(Promise):
    title: str = ""
    brief: str = ""
    deadline: datetime | None = None


def _check_call(shop: Shop, data: CallInput) -> tuple[str, str]:
    title = plain_text(data.title)
    brief = plain_text(data.brief)
    check_length(title, "title", CALL_TITLE_MAX, minimum=1)
    check_length(brief, "brief", CALL_BRIEF_MAX)
    _check_promise(data)
    if data.deadline is not None and data.deadline <= utcnow():
        raise RuleViolation(_("Choose a deadline in the future."), field="deadline")
    _check_rates(shop, data.royalty_bps, pool_bps_of(shop.id))
    return title, brief


def _apply_call(call: IdeaCall, data: CallInput, title: str, brief: str) -> None:
    call.title, call.brief, call.deadline = title, brief, data.deadline
    call.shortlist_reward_minor = data.shortlist_reward_minor
    call.threshold_votes = data.threshold_votes
    call.threshold_reward_minor = data.threshold_reward_minor
    call.royalty_bps = data.royalty_bps
    call.updated_at = utcnow()


def open_call(actor: User, shop: Shop, data: CallInput) -> IdeaCall:
    _check_owner(actor, shop)
    title, brief = _check_call(shop, data)
    call = IdeaCall(shop_id=shop.id, shop=shop)
    _apply_call(call, data, title, brief)
    db.session.add(call)
    db.session.flush()
    return call


def update_call(actor: User, call: IdeaCall, data: CallInput) -> IdeaCall:
    """Change a call; ideas already submitted keep the terms they were promised."""
    _check_owner(actor, call.shop)
    title, brief = _check_call(call.shop, data)
    _apply_call(call, data, title, brief)
    db.session.flush()
    return call


def close_call(actor: User, call: IdeaCall) -> IdeaCall:
    _check_owner(actor, call.shop)
    if call.closed_at is None:
        call.closed_at = utcnow()
    return call


def get_call(call_id: int) -> IdeaCall:
    call = db.session.scalar(
        select(IdeaCall).where(IdeaCall.id == call_id).options(joinedload(IdeaCall.shop))
    )
    if call is None:
        raise NotFound(_("There is no such call for ideas."))
    return call


def calls_of(shop_id: int, *, open_only: bool = False, limit: int = 50) -> list[IdeaCall]:
    statement = select(IdeaCall).where(IdeaCall.shop_id == shop_id)
    if open_only:
        now = utcnow()
        statement = statement.where(
            IdeaCall.closed_at.is_(None),
            (IdeaCall.deadline.is_(None)) | (IdeaCall.deadline > now),
        )
    return list(db.session.scalars(statement.order_by(IdeaCall.id.desc()).limit(limit)))


def open_calls(limit: int = 12) -> list[IdeaCall]:
    """Open calls of open shops, newest first (the ideas home page)."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(IdeaCall)
            .join(Shop, Shop.id == IdeaCall.shop_id)
            .where(
                IdeaCall.closed_at.is_(None),
                (IdeaCall.deadline.is_(None)) | (IdeaCall.deadline > now),
                Shop.status == "open",
            )
            .options(joinedload(IdeaCall.shop))
            .order_by(IdeaCall.id.desc())
            .limit(limit)
        )
    )


# --- ideas ------------------------------------------------------------------------------------


def _store_images(uploads: Sequence[bytes]) -> list[list[str]]:
    # All or none: a refused image leaves no file of the others behind.
    stored = media.store_images(uploads, thumbnail_sizes=IMAGE_SIZES, field_name="images")
    return [[image.key, image.thumbnails[IMAGE_SIZES[0]]] for image in stored]


def _check_idea_text(title: str, description: str) -> tuple[str, str]:
    clean_title = plain_text(title)
    clean_description = plain_text(description)
    check_length(clean_title, "title", IDEA_TITLE_MAX, minimum=3)
    check_length(clean_description, "description", IDEA_DESCRIPTION_MAX, minimum=1)
    return clean_title, clean_description


def submit_idea(
    actor: User,
    shop: Shop,
    title: str,
    description: str,
    images: Sequence[bytes] = (),
    call: IdeaCall | None = None,
) -> Idea:
    ensure_can_post(actor)
    if shop.owner_id == actor.id:
        raise RuleViolation(_("Ideas for your own shop are yours to make: no need to submit."))
    if not shop.is_open:
        raise RuleViolation(_("This shop is not taking ideas right now."))
    clean_title, clean_description = _check_idea_text(title, description)
    if len(images) > IDEA_IMAGES_MAX:
        raise RuleViolation(_("Add at most %(max)d images.", max=IDEA_IMAGES_MAX), field="images")
    promise: Promise | CoCreationTerms | IdeaCall
    if call is not None:
        if call.shop_id != shop.id:
            raise NotFound(_("There is no such call for ideas."), field="call_id")
        if not call.is_open(utcnow()):
            raise RuleViolation(_("This call for ideas is closed."), field="call_id")
        promise = call
    else:
        terms = terms_of(shop.id)
        if terms is None or not terms.accepts_ideas:
            raise RuleViolation(_("This shop takes ideas only through its calls."))
        promise = terms
    idea = Idea(
        shop_id=shop.id,
        shop=shop,
        call_id=call.id if call else None,
        author_id=actor.id,
        author=actor,
        title=clean_title,
        description=clean_description,
        images=_store_images(images),
        shortlist_reward_minor=promise.shortlist_reward_minor,
        threshold_votes=promise.threshold_votes,
        threshold_reward_minor=promise.threshold_reward_minor,
        royalty_bps=promise.royalty_bps,
    )
    db.session.add(idea)
    db.session.flush()
    if call is not None:
        db.session.execute(
            update(IdeaCall)
            .where(IdeaCall.id == call.id)
            .values(idea_count=IdeaCall.idea_count + 1)
            .execution_options(synchronize_session=False)
        )
    db.session.add(FeedEvent(actor_id=actor.id, kind=EventKind.IDEA, idea_id=idea.id))
    notifications.notify(
        shop.owner_id,
        NotificationKind.IDEA,
        actor=actor,
        target_type=Target.IDEA,
        target_id=idea.id,
        link=notifications.absolute_url("ideas.show", idea_id=idea.id),
        subject_text=clean_title,
    )
    db.session.flush()
    return idea


def _idea_query() -> Select[Any]:
    return select(Idea).options(
        joinedload(Idea.author), joinedload(Idea.shop), joinedload(Idea.call)
    )


def get_idea(idea_id: int) -> Idea:
    idea = db.session.scalar(_idea_query().where(Idea.id == idea_id))
    if idea is None:
        raise NotFound(_("There is no such idea."))
    return idea


def can_see(idea: Idea, viewer: User | None) -> bool:
    """A withdrawn idea is its author's and the shop's; a suspended author's idea, like the
    rest of what they posted, is gone for everyone but the shop and the moderators."""
    if is_moderator(viewer) or (viewer is not None and viewer.id == idea.shop.owner_id):
        return True
    if is_suspended(idea.author_id):
        return False
    return idea.status != IdeaStatus.WITHDRAWN or (
        viewer is not None and viewer.id == idea.author_id
    )


def visible_idea(idea_id: int, viewer: User | None) -> Idea:
    """An idea as the viewer may see it: a withdrawn one only by its author and the shop."""
    idea = get_idea(idea_id)
    if not can_see(idea, viewer):
        raise NotFound(_("There is no such idea."))
    return idea


def _own_idea(actor: User, idea: Idea) -> None:
    if idea.author_id != actor.id:
        raise Forbidden(_("Only its author can change this idea."))


def update_idea(
    actor: User,
    idea: Idea,
    title: str,
    description: str,
    add_images: Sequence[bytes] = (),
    remove_images: Sequence[int] = (),
) -> Idea:
    """The author edits the idea until the shop shortlists (or decides on) it."""
    ensure_can_post(actor)
    _own_idea(actor, idea)
    if idea.status != IdeaStatus.SUBMITTED:
        raise RuleViolation(_("This idea can no longer be edited: the shop has reviewed it."))
    clean_title, clean_description = _check_idea_text(title, description)
    kept = [pair for index, pair in enumerate(idea.images) if index not in set(remove_images)]
    if len(kept) + len(add_images) > IDEA_IMAGES_MAX:
        raise RuleViolation(_("Add at most %(max)d images.", max=IDEA_IMAGES_MAX), field="images")
    idea.title, idea.description = clean_title, clean_description
    idea.images = kept + _store_images(add_images)
    idea.updated_at = utcnow()
    db.session.flush()
    return idea


def withdraw_idea(actor: User, idea: Idea) -> Idea:
    _own_idea(actor, idea)
    if idea.status == IdeaStatus.WITHDRAWN:
        return idea
    if idea.status not in IdeaStatus.REVIEWABLE:
        raise RuleViolation(_("An idea the shop has adopted or declined cannot be withdrawn."))
    idea.status = IdeaStatus.WITHDRAWN
    idea.updated_at = utcnow()
    return idea


# --- votes ------------------------------------------------------------------------------------


def min_account_age() -> timedelta:
    return timedelta(hours=float(current_app.config.get("IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS", 72)))


def _as_aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def vote_refusal(actor: User, idea: Idea) -> RuleViolation | None:
    """Why this person may not vote for this idea, or None when they may."""
    if actor.id == idea.author_id:
        return RuleViolation(_("You cannot vote for your own idea."), status=403)
    if actor.id == idea.shop.owner_id:
        return RuleViolation(_("The shop cannot vote for ideas it reviews."), status=403)
    if idea.status not in IdeaStatus.LIVE:
        return RuleViolation(_("Votes are closed for this idea."), status=409)
    if _as_aware(actor.created_at) + min_account_age() > _as_aware(utcnow()):
        hours = min_account_age() // timedelta(hours=1)
        return RuleViolation(
            _("New accounts can vote after %(hours)d hours.", hours=hours), status=403
        )
    return None


def can_vote(actor: User | None, idea: Idea) -> bool:
    return actor is not None and vote_refusal(actor, idea) is None


def has_voted(user_id: int, idea_id: int) -> bool:
    return db.session.get(IdeaVote, (idea_id, user_id)) is not None


def voted_ids(viewer: User | None, idea_ids: Sequence[int]) -> set[int]:
    if viewer is None or not idea_ids:
        return set()
    return set(
        db.session.scalars(
            select(IdeaVote.idea_id).where(
                IdeaVote.user_id == viewer.id, IdeaVote.idea_id.in_(list(idea_ids))
            )
        )
    )


def _bump_votes(idea_id: int, amount: int) -> int:
    """One atomic UPDATE (it locks the idea's row until the commit); the new count."""
    db.session.execute(
        update(Idea)
        .where(Idea.id == idea_id)
        .values(vote_count=Idea.vote_count + amount)
        .execution_options(synchronize_session=False)
    )
    count = int(db.session.scalar(select(Idea.vote_count).where(Idea.id == idea_id)) or 0)
    cached = db.session.identity_map.get(db.session.identity_key(Idea, idea_id))
    if cached is not None:
        db.session.expire(cached, ["vote_count"])
    return count


def vote(actor: User, idea: Idea) -> bool:
    """Vote for an idea; a second vote changes nothing. Returns whether the vote is new."""
    ensure_can_post(actor)
    refusal = vote_refusal(actor, idea)
    if refusal is not None:
        raise refusal
    if has_voted(actor.id, idea.id):
        return False
    try:
        # Two votes at once: the second insert loses on the primary key and counts nothing.
        with db.session.begin_nested():
            db.session.add(IdeaVote(idea_id=idea.id, user_id=actor.id))
    except IntegrityError:
        return False
    count = _bump_votes(idea.id, 1)
    db.session.add(FeedEvent(actor_id=actor.id, kind=EventKind.IDEA_VOTE, idea_id=idea.id))
    if idea.threshold_votes and count >= idea.threshold_votes:
        _threshold_reached(idea)
    return True


def unvote(actor: User, idea: Idea) -> bool:
    result = db.session.execute(
        delete(IdeaVote).where(IdeaVote.idea_id == idea.id, IdeaVote.user_id == actor.id)
    )
    if not getattr(result, "rowcount", 0):
        return False
    _bump_votes(idea.id, -1)
    db.session.execute(
        delete(FeedEvent).where(
            FeedEvent.actor_id == actor.id,
            FeedEvent.kind == EventKind.IDEA_VOTE,
            FeedEvent.idea_id == idea.id,
        )
    )
    return True


def _threshold_reached(idea: Idea) -> None:
    """Mark the crossing once (a conditional UPDATE) and make the vote reward due."""
    result = db.session.execute(
        update(Idea)
        .where(Idea.id == idea.id, Idea.threshold_reached_at.is_(None))
        .values(threshold_reached_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return
    db.session.expire(idea, ["threshold_reached_at"])
    if idea.threshold_reward_minor > 0:
        _make_due(idea, RewardKind.THRESHOLD, idea.threshold_reward_minor)


def _make_due(idea: Idea, kind: str, amount: int) -> IdeaReward | None:
    existing = db.session.scalar(
        select(IdeaReward).where(IdeaReward.idea_id == idea.id, IdeaReward.kind == kind)
    )
    if existing is not None:
        return None
    reward = IdeaReward(
        idea_id=idea.id,
        shop_id=idea.shop_id,
        author_id=idea.author_id,
        kind=kind,
        currency=current_app.config["CURRENCY"].lower(),
        amount_minor=amount,
    )
    try:
        with db.session.begin_nested():
            db.session.add(reward)
    except IntegrityError:
        return None  # made due at the same moment by another transaction
    notifications.notify(
        idea.author_id,
        NotificationKind.REWARD,
        target_type=Target.IDEA,
        target_id=idea.id,
        link=notifications.absolute_url("ideas.show", idea_id=idea.id),
        subject_text=idea.title,
    )
    reward_due.send(current_app._get_current_object(), reward=reward)  # type: ignore[attr-defined]
    return reward


# --- the shop's review ------------------------------------------------------------------------


def _reviewable(actor: User, idea: Idea) -> None:
    _check_owner(actor, idea.shop)
    if idea.status not in IdeaStatus.REVIEWABLE:
        raise RuleViolation(
            _("A withdrawn, declined or adopted idea cannot be reviewed again."), status=409
        )


def _tell_author(idea: Idea, actor: User) -> None:
    notifications.notify(
        idea.author_id,
        NotificationKind.IDEA_DECISION,
        actor=actor,
        target_type=Target.IDEA,
        target_id=idea.id,
        link=notifications.absolute_url("ideas.show", idea_id=idea.id),
        subject_text=idea.title,
    )


def shortlist(actor: User, idea: Idea) -> Idea:
    _reviewable(actor, idea)
    if idea.status == IdeaStatus.SHORTLISTED:
        return idea
    idea.status = IdeaStatus.SHORTLISTED
    idea.shortlisted_at = utcnow()
    idea.updated_at = utcnow()
    db.session.flush()
    _tell_author(idea, actor)
    if idea.shortlist_reward_minor > 0:
        _make_due(idea, RewardKind.SHORTLIST, idea.shortlist_reward_minor)
    return idea


def decline(actor: User, idea: Idea, reason: str) -> Idea:
    _reviewable(actor, idea)
    clean = plain_text(reason)
    check_length(clean, "reason", DECLINE_REASON_MAX, minimum=3)
    idea.status = IdeaStatus.DECLINED
    idea.decline_reason = clean
    idea.decided_at = utcnow()
    idea.updated_at = utcnow()
    db.session.flush()
    _tell_author(idea, actor)
    return idea


@dataclass
class NewProduct:
    """The product an adopted idea becomes: a draft made from the idea, to finish later."""

    price_minor: int | None
    stock: int | None = 0
    # Empty: the category of the shop's latest product.
    category: str = ""


def adopt(
    actor: User,
    idea: Idea,
    *,
    product_id: int | None = None,
    new_product: NewProduct | None = None,
) -> Idea:
    """Adopt an idea into an existing product of the shop, or into a new draft made from it;
    its author gets a royalty agreement at the rate the idea was promised."""
    _reviewable(actor, idea)
    if (product_id is None) == (new_product is None):
        raise RuleViolation(
            _("Choose a product, or make a new one from the idea."), field="product_id"
        )
    shop = idea.shop
    if product_id is not None:
        product = db.session.get(Product, product_id)
        if product is None or product.status == "deleted":
            raise NotFound(_("There is no such product."), field="product_id")
        if product.shop_id != shop.id:
            raise RuleViolation(
                _("An idea can only become a product of the shop it was given to."),
                field="product_id",
            )
        if idea.royalty_bps:
            _check_rates(
                shop, royalty_of_product(product.id) + idea.royalty_bps, pool_bps_of(shop.id)
            )
    else:
        assert new_product is not None
        if idea.royalty_bps:
            _check_rates(shop, idea.royalty_bps, pool_bps_of(shop.id))
        product = product_services.create_product(
            actor,
            shop,
            product_services.ProductDetails(
                title=idea.title,
                description=idea.description,
                category=new_product.category or usual_category(shop.id),
            ),
            [product_services.VariantInput(new_product.price_minor, new_product.stock)],
            images=[
                product_services.ImageUpload(media.read_stored(original), idea.title)
                for original, _thumb in idea.images
            ],
        )
    idea.status = IdeaStatus.ADOPTED
    idea.product_id = product.id
    idea.product = product
    idea.decided_at = utcnow()
    idea.updated_at = utcnow()
    if idea.royalty_bps > 0 and idea.author_id != shop.owner_id:
        db.session.add(
            RoyaltyAgreement(
                idea_id=idea.id,
                product_id=product.id,
                author_id=idea.author_id,
                rate_bps=idea.royalty_bps,
            )
        )
    db.session.flush()
    _tell_author(idea, actor)
    return idea


def products_to_adopt_into(idea: Idea, limit: int = 500) -> list[tuple[int, str]]:
    """(id, title) of the products of the idea's shop, by title: what it can be linked to."""
    rows = db.session.execute(
        select(Product.id, Product.title)
        .where(Product.shop_id == idea.shop_id)
        .order_by(Product.title)
        .limit(limit)
    ).all()
    return [(int(pid), str(title)) for pid, title in rows]


def usual_category(shop_id: int) -> str:
    return (
        db.session.scalar(
            select(Product.category)
            .where(Product.shop_id == shop_id)
            .order_by(Product.id.desc())
            .limit(1)
        )
        or ""
    )


# --- listings ---------------------------------------------------------------------------------

SORTS = ("votes", "newest")


def list_ideas(
    *,
    shop_id: int | None = None,
    call_id: int | None = None,
    author_id: int | None = None,
    sort: str = "votes",
    status: str = "",
    page: int = 1,
    per_page: int = 20,
    include_withdrawn: bool = False,
) -> Page[Idea]:
    statement = _idea_query().where(not_suspended(Idea.author_id))
    if shop_id is not None:
        statement = statement.where(Idea.shop_id == shop_id)
    if call_id is not None:
        statement = statement.where(Idea.call_id == call_id)
    if author_id is not None:
        statement = statement.where(Idea.author_id == author_id)
    if status in IdeaStatus.ALL:
        statement = statement.where(Idea.status == status)
    elif not include_withdrawn:
        statement = statement.where(Idea.status != IdeaStatus.WITHDRAWN)
    if sort == "newest":
        statement = statement.order_by(Idea.created_at.desc(), Idea.id.desc())
    else:
        statement = statement.order_by(Idea.vote_count.desc(), Idea.id.desc())
    return paginate_select(statement, page, per_page)


def product_agreements(product_id: int) -> list[RoyaltyAgreement]:
    return list(
        db.session.scalars(
            select(RoyaltyAgreement)
            .where(RoyaltyAgreement.product_id == product_id)
            .options(joinedload(RoyaltyAgreement.author))
            .order_by(RoyaltyAgreement.id)
        )
    )


def agreements_for_products(product_ids: Sequence[int]) -> dict[int, list[RoyaltyAgreement]]:
    rows = db.session.scalars(
        select(RoyaltyAgreement)
        .where(RoyaltyAgreement.product_id.in_(list(product_ids)))
        .order_by(RoyaltyAgreement.id)
    )
    result: dict[int, list[RoyaltyAgreement]] = defaultdict(list)
    for row in rows:
        result[row.product_id].append(row)
    return result


def idea_of_product(product_id: int) -> Idea | None:
    # On every product page: built once (app.database.kept_statement).
    statement = kept_statement(
        "social.idea_of_product",
        lambda: (
            _idea_query()
            .where(Idea.product_id == bindparam("product_id"), Idea.status == IdeaStatus.ADOPTED)
            .order_by(Idea.id)
            .limit(1)
        ),
    )
    return db.session.scalar(statement, {"product_id": product_id})


def rewards(
    *, shop_id: int | None = None, author_id: int | None = None, limit: int = 100
) -> list[IdeaReward]:
    statement = select(IdeaReward).options(
        joinedload(IdeaReward.idea), joinedload(IdeaReward.author)
    )
    if shop_id is not None:
        statement = statement.where(IdeaReward.shop_id == shop_id)
    if author_id is not None:
        statement = statement.where(IdeaReward.author_id == author_id)
    return list(db.session.scalars(statement.order_by(IdeaReward.id.desc()).limit(limit)))


def get_reward(reward_id: int) -> IdeaReward:
    reward = db.session.scalar(
        select(IdeaReward).where(IdeaReward.id == reward_id).options(joinedload(IdeaReward.idea))
    )
    if reward is None:
        raise NotFound(_("There is no such reward."))
    return reward


# --- the collective ---------------------------------------------------------------------------


def name_member(actor: User, shop: Shop, member: User, weight: int = 1) -> PoolMember:
    _check_owner(actor, shop)
    if member.id == shop.owner_id:
        raise RuleViolation(_("The shop's owner is not part of its collective."), field="handle")
    if not 1 <= weight <= 100:
        raise RuleViolation(_("Choose a weight between 1 and 100."), field="weight")
    found = db.session.get(PoolMember, (shop.id, member.id))
    if found is None:
        found = PoolMember(shop_id=shop.id, user_id=member.id, user=member)
        db.session.add(found)
    found.weight = weight
    db.session.flush()
    return found


def remove_member(actor: User, shop: Shop, user_id: int) -> bool:
    _check_owner(actor, shop)
    result = db.session.execute(
        delete(PoolMember).where(PoolMember.shop_id == shop.id, PoolMember.user_id == user_id)
    )
    return bool(getattr(result, "rowcount", 0))


def named_members(shop_id: int) -> list[PoolMember]:
    return list(
        db.session.scalars(
            select(PoolMember)
            .where(PoolMember.shop_id == shop_id)
            .options(joinedload(PoolMember.user))
            .order_by(PoolMember.created_at, PoolMember.user_id)
        )
    )


def collective_weights(shop: Shop, until: datetime) -> dict[int, int]:
    """Each member's weight up to `until`: one per adopted idea of the shop they voted for,
    one per adopted idea they commented on, plus the weight the shop named them with.
    The shop's owner and suspended people are left out."""
    adopted = select(Idea.id).where(Idea.shop_id == shop.id, Idea.status == IdeaStatus.ADOPTED)
    weights: dict[int, int] = defaultdict(int)
    votes = db.session.execute(
        select(IdeaVote.user_id, func.count())
        .where(IdeaVote.idea_id.in_(adopted), IdeaVote.created_at < until)
        .group_by(IdeaVote.user_id)
    ).all()
    for user_id, count in votes:
        weights[int(user_id)] += int(count)
    comments = db.session.execute(
        select(Comment.author_id, func.count(func.distinct(Comment.target_id)))
        .where(
            Comment.target_type == Target.IDEA,
            Comment.target_id.in_(adopted),
            Comment.removed_at.is_(None),
            Comment.hidden_at.is_(None),
            Comment.created_at < until,
        )
        .group_by(Comment.author_id)
    ).all()
    for user_id, count in comments:
        weights[int(user_id)] += int(count)
    for member in db.session.scalars(select(PoolMember).where(PoolMember.shop_id == shop.id)):
        weights[member.user_id] += member.weight
    weights.pop(shop.owner_id, None)
    return {uid: w for uid, w in sorted(weights.items()) if w > 0 and not is_suspended(uid)}
