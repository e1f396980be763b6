"""Following people (and through them, their shop): follow, unfollow, the lists, suggestions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from app import page_cache
from app.accounts.models import User
from app.database import kept_statement
from app.extensions import db
from app.models import utcnow
from app.rules import RuleViolation
from marketplace.pagination import Page, paginate_select
from social import notifications
from social.models import Follow, NotificationKind, Pick
from social.rules import ensure_can_post, not_suspended

RECENT_PICKS = 2_000


def is_following(follower_id: int, followee_id: int) -> bool:
    return db.session.get(Follow, (follower_id, followee_id)) is not None


def follow(actor: User, followee: User) -> bool:
    """Follow someone; following twice is harmless. Returns whether it is new."""
    if actor.id == followee.id:
        raise RuleViolation(_("You cannot follow yourself."), status=422)
    ensure_can_post(actor)
    if is_following(actor.id, followee.id):
        return False
    try:
        # A double click races with itself: the second insert loses, harmlessly.
        with db.session.begin_nested():
            db.session.add(Follow(follower_id=actor.id, followee_id=followee.id))
    except IntegrityError:
        return False
    notifications.notify(
        followee.id,
        NotificationKind.FOLLOW,
        actor=actor,
        target_type="user",
        target_id=actor.id,
        link=notifications.absolute_url("profiles.show", handle=actor.handle),
    )
    return True


def unfollow(actor: User, followee: User) -> bool:
    result = db.session.execute(
        delete(Follow).where(Follow.follower_id == actor.id, Follow.followee_id == followee.id)
    )
    return bool(getattr(result, "rowcount", 0))


def counts(user_id: int) -> tuple[int, int]:
    """(followers, following) of a person, in one query."""
    followers = (
        select(func.count())
        .select_from(Follow)
        .where(Follow.followee_id == user_id)
        .scalar_subquery()
    )
    following = (
        select(func.count())
        .select_from(Follow)
        .where(Follow.follower_id == user_id)
        .scalar_subquery()
    )
    row = db.session.execute(select(followers, following)).one()
    return int(row[0]), int(row[1])


def followers(user: User, page: int = 1, per_page: int = 30) -> Page[User]:
    statement = (
        select(User)
        .join(Follow, Follow.follower_id == User.id)
        .where(Follow.followee_id == user.id, not_suspended(User.id))
        .order_by(Follow.created_at.desc(), User.id.desc())
    )
    return paginate_select(statement, page, per_page)


def following(user: User, page: int = 1, per_page: int = 30) -> Page[User]:
    statement = (
        select(User)
        .join(Follow, Follow.followee_id == User.id)
        .where(Follow.follower_id == user.id, not_suspended(User.id))
        .order_by(Follow.created_at.desc(), User.id.desc())
    )
    return paginate_select(statement, page, per_page)


def followed_ids(user_ids: list[int], viewer: User | None) -> set[int]:
    """Which of these people the viewer follows (one query for a whole list)."""
    if viewer is None or not user_ids:
        return set()
    return set(
        db.session.scalars(
            select(Follow.followee_id).where(
                Follow.follower_id == viewer.id, Follow.followee_id.in_(user_ids)
            )
        )
    )


def followee_ids(user: User) -> set[int]:
    """Everyone the user follows (ids)."""
    return set(db.session.scalars(select(Follow.followee_id).where(Follow.follower_id == user.id)))


def suggestions(user: User | None, limit: int = 6, following: set[int] | None = None) -> list[User]:
    """People to follow: first those followed by the people you follow (most shared first),
    then active curators (most picks in the last 30 days). Never yourself or whom you follow.

    `following`: the user's followee_ids, when the caller has them already."""
    chosen: list[User] = []
    excluded: set[int] = set()
    if user is not None:
        if following is None:
            following = followee_ids(user)
        excluded = {user.id, *following}
    if user is not None and following:
        mine = select(Follow.followee_id).where(Follow.follower_id == user.id)
        second = Follow.__table__.alias("second")
        friends_of_friends = db.session.scalars(
            select(User)
            .join(second, second.c.followee_id == User.id)
            .where(
                second.c.follower_id.in_(mine),
                User.id.not_in(excluded),
                not_suspended(User.id),
            )
            .group_by(User.id)
            .order_by(func.count().desc(), User.id)
            .limit(limit)
        ).all()
        chosen.extend(friends_of_friends)
        excluded |= {u.id for u in friends_of_friends}
    if len(chosen) < limit:
        excluding = bool(excluded)
        statement = kept_statement(
            ("social.active_curators", excluding), lambda: _active_curators(excluding)
        )
        params: dict[str, Any] = {
            "since": utcnow() - timedelta(days=30),
            "limit": limit - len(chosen),
        }
        if excluded:
            params["excluded"] = list(excluded)
        chosen.extend(db.session.scalars(statement, params).all())
    return chosen


@dataclass(frozen=True)
class Suggested:
    """Someone to follow, as a suggestion shows them (kept between pages: plain values)."""

    id: int
    handle: str
    name: str
    avatar_key: str | None


def kept_suggestions(user: User, limit: int, following: Callable[[], set[int]]) -> list[Suggested]:
    """`suggestions` for the feed's side column, kept for this person until anything public
    changes (a follow, a pick, a suspension) or ten minutes pass: working out friends of
    friends is the costliest query of the feed, and its answer changes slowly. Following
    someone is such a change, so a kept list never offers whom one follows; `following`
    (the user's followee ids) is asked only when the list is worked out again."""

    def compute() -> list[Suggested]:
        return [
            Suggested(person.id, person.handle, person.name, person.avatar_key)
            for person in suggestions(user, limit, following=following())
        ]

    return page_cache.kept(f"suggestions:{user.id}:{limit}", compute, seconds=600)


def _active_curators(excluding: bool) -> Select[Any]:
    """Active curators: the most frequent authors among the latest picks. Bounded to the
    newest RECENT_PICKS rows (ix_picks_created), so it costs the same on any size of site."""
    recent = (
        select(Pick.author_id.label("author_id"))
        .where(Pick.created_at >= bindparam("since"), Pick.hidden_at.is_(None))
        .order_by(Pick.created_at.desc(), Pick.id.desc())
        .limit(RECENT_PICKS)
        .subquery()
    )
    conditions = [not_suspended(User.id)]
    if excluding:
        conditions.append(User.id.not_in(bindparam("excluded", expanding=True)))
    return (
        select(User)
        .join(recent, recent.c.author_id == User.id)
        .where(*conditions)
        .group_by(User.id)
        .order_by(func.count().desc(), User.id)
        .limit(bindparam("limit", type_=Integer))
    )
