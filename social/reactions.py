"""Likes (of picks, collections and products) and comments (on picks, collections and
ideas, threaded one level deep)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.database import kept_statement
from app.extensions import db
from app.models import utcnow
from app.rules import Forbidden, NotFound, RuleViolation
from marketplace import products as product_services
from marketplace.models import Product
from social import notifications, posts
from social.idea_models import Idea
from social.models import (
    COMMENT_MAX,
    Collection,
    Comment,
    Like,
    NotificationKind,
    Pick,
    Target,
)
from social.rules import check_length, ensure_can_post, is_moderator, not_suspended, plain_text

LIKE_POPULARITY = 1


@dataclass
class Subject:
    """What was liked or commented on: its owner, a name for messages, a page to link to."""

    target_type: str
    target_id: int
    owner_id: int | None
    label: str
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    model: Any = None


def subject(target_type: str, target_id: int, viewer: User | None) -> Subject:
    """The target as the viewer may see it (404 otherwise)."""
    if target_type == Target.PICK:
        pick = posts.visible_pick(target_id, viewer)
        return Subject(
            Target.PICK,
            pick.id,
            pick.author_id,
            _("your pick of “%(title)s”", title=pick.product.title),
            "social.pick",
            {"pick_id": pick.id},
            Pick,
        )
    if target_type == Target.COLLECTION:
        collection = posts.visible_collection(target_id, viewer)
        return Subject(
            Target.COLLECTION,
            collection.id,
            collection.owner_id,
            _("your collection “%(title)s”", title=collection.title),
            "social.collection",
            {"collection_id": collection.id},
            Collection,
        )
    if target_type == Target.IDEA:
        from social import ideas

        idea = ideas.visible_idea(target_id, viewer)
        return Subject(
            Target.IDEA,
            idea.id,
            idea.author_id,
            _("your idea “%(title)s”", title=idea.title),
            "ideas.show",
            {"idea_id": idea.id},
            Idea,
        )
    if target_type == Target.PRODUCT:
        product = db.session.get(Product, target_id)
        if product is None or not product.listed:
            raise NotFound(_("That product is not available."))
        return Subject(
            Target.PRODUCT,
            product.id,
            None,
            product.title,
            "catalogue.product",
            {"product_id": product.id},
            None,
        )
    raise NotFound(_("That cannot be liked."))


# --- likes -----------------------------------------------------------------------------------


def _counted(target: Subject, amount: int) -> None:
    if target.model is not None:
        posts.bump_counter(target.model, target.target_id, "like_count", amount)
        cached = db.session.identity_map.get(
            db.session.identity_key(target.model, target.target_id)
        )
        if cached is not None:
            db.session.expire(cached, ["like_count"])
    product_id = target.target_id if target.target_type == Target.PRODUCT else None
    if target.target_type == Target.PICK:
        product_id = db.session.scalar(select(Pick.product_id).where(Pick.id == target.target_id))
    if product_id is not None:
        product_services.bump_popularity(product_id, LIKE_POPULARITY * amount)


def like(actor: User, target_type: str, target_id: int) -> bool:
    """Like something; liking twice is harmless. Returns whether it is new."""
    ensure_can_post(actor)
    target = subject(target_type, target_id, actor)
    if liked(actor, target_type, target.target_id):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                Like(user_id=actor.id, target_type=target_type, target_id=target.target_id)
            )
    except IntegrityError:
        return False
    _counted(target, 1)
    if target.owner_id is not None:
        notifications.notify(
            target.owner_id,
            NotificationKind.LIKE,
            actor=actor,
            target_type=target_type,
            target_id=target.target_id,
            link=notifications.absolute_url(target.endpoint, **target.values),
            subject_text=target.label,
        )
    return True


def unlike(actor: User, target_type: str, target_id: int) -> bool:
    result = db.session.execute(
        delete(Like).where(
            Like.user_id == actor.id, Like.target_type == target_type, Like.target_id == target_id
        )
    )
    if not getattr(result, "rowcount", 0):
        return False
    _counted(Subject(target_type, target_id, None, "", "", {}, _model(target_type)), -1)
    return True


def _model(target_type: str) -> Any:
    return {Target.PICK: Pick, Target.COLLECTION: Collection, Target.IDEA: Idea}.get(target_type)


def liked(actor: User, target_type: str, target_id: int) -> bool:
    return (
        db.session.scalar(
            select(Like.id).where(
                Like.user_id == actor.id,
                Like.target_type == target_type,
                Like.target_id == target_id,
            )
        )
        is not None
    )


def liked_ids(viewer: User | None, target_type: str, ids: list[int]) -> set[int]:
    """Which of these the viewer likes: one query for a whole page of cards."""
    if viewer is None or not ids:
        return set()
    return set(
        db.session.scalars(
            select(Like.target_id).where(
                Like.user_id == viewer.id,
                Like.target_type == target_type,
                Like.target_id.in_(ids),
            )
        )
    )


def product_like_count(product_id: int) -> int:
    # On every product page: built once (app.database.kept_statement).
    statement = kept_statement(
        "social.product_like_count",
        lambda: select(func.count(Like.id)).where(
            Like.target_type == Target.PRODUCT, Like.target_id == bindparam("product_id")
        ),
    )
    return int(db.session.scalar(statement, {"product_id": product_id}) or 0)


# --- comments --------------------------------------------------------------------------------


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment]


def comments_on(target_type: str, target_id: int, limit: int = 200) -> list[Thread]:
    """The visible comments, oldest first, each with its replies. A removed comment that
    has replies stays as a placeholder so the conversation still reads."""
    rows = list(
        db.session.scalars(
            select(Comment)
            .where(
                Comment.target_type == target_type,
                Comment.target_id == target_id,
                Comment.hidden_at.is_(None),
                not_suspended(Comment.author_id),
            )
            .options(joinedload(Comment.author))
            .order_by(Comment.id)
            .limit(limit)
        )
    )
    threads: dict[int, Thread] = {}
    for row in rows:
        if row.parent_id is None:
            threads[row.id] = Thread(row, [])
    for row in rows:
        if row.parent_id is not None and row.parent_id in threads and row.removed_at is None:
            threads[row.parent_id].replies.append(row)
    return [t for t in threads.values() if t.comment.removed_at is None or t.replies]


def add_comment(
    actor: User, target_type: str, target_id: int, body: str, parent_id: int | None = None
) -> Comment:
    ensure_can_post(actor)
    if target_type not in Target.COMMENTABLE:
        raise NotFound(_("That cannot be commented on."))
    target = subject(target_type, target_id, actor)
    clean = plain_text(body)
    check_length(clean, "body", COMMENT_MAX, minimum=1)
    parent: Comment | None = None
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if (
            parent is None
            or parent.target_type != target_type
            or parent.target_id != target.target_id
            or parent.removed_at is not None
            or parent.hidden_at is not None
        ):
            raise RuleViolation(_("That comment cannot be answered."), field="parent_id")
        if parent.parent_id is not None:
            parent = db.session.get(Comment, parent.parent_id)  # one level: answer the thread
    comment = Comment(
        author_id=actor.id,
        author=actor,
        target_type=target_type,
        target_id=target.target_id,
        parent_id=parent.id if parent else None,
        body=clean,
    )
    db.session.add(comment)
    db.session.flush()
    if target.model is not None:
        posts.bump_counter(target.model, target.target_id, "comment_count", 1)
    link = notifications.absolute_url(target.endpoint, **target.values) + f"#comment-{comment.id}"
    if target.owner_id is not None:
        notifications.notify(
            target.owner_id,
            NotificationKind.COMMENT,
            actor=actor,
            target_type=target_type,
            target_id=target.target_id,
            link=link,
            subject_text=target.label,
        )
    if parent is not None and parent.author_id not in (target.owner_id, actor.id):
        notifications.notify(
            parent.author_id,
            NotificationKind.REPLY,
            actor=actor,
            target_type=target_type,
            target_id=target.target_id,
            link=link,
        )
    return comment


def _comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.removed_at is not None:
        raise NotFound(_("There is no such comment."))
    return comment


def edit_comment(actor: User, comment_id: int, body: str) -> Comment:
    ensure_can_post(actor)
    comment = _comment(comment_id)
    if comment.author_id != actor.id:
        raise Forbidden(_("Only its author can edit a comment."))
    clean = plain_text(body)
    check_length(clean, "body", COMMENT_MAX, minimum=1)
    comment.body = clean
    comment.edited_at = utcnow()
    db.session.flush()
    return comment


def owner_of_target(comment: Comment) -> int | None:
    if comment.target_type == Target.PICK:
        return db.session.scalar(select(Pick.author_id).where(Pick.id == comment.target_id))
    if comment.target_type == Target.COLLECTION:
        return db.session.scalar(
            select(Collection.owner_id).where(Collection.id == comment.target_id)
        )
    if comment.target_type == Target.IDEA:
        return db.session.scalar(select(Idea.author_id).where(Idea.id == comment.target_id))
    return None


def can_remove(actor: User | None, comment: Comment, target_owner_id: int | None) -> bool:
    if actor is None:
        return False
    return actor.id in (comment.author_id, target_owner_id) or is_moderator(actor)


def remove_comment(actor: User, comment_id: int) -> Comment:
    """The author, or the owner of what was commented on, may remove a comment."""
    comment = _comment(comment_id)
    if not can_remove(actor, comment, owner_of_target(comment)):
        raise Forbidden(_("You cannot remove this comment."))
    comment.removed_at = utcnow()
    comment.body = ""
    model = _model(comment.target_type)
    if model is not None:
        posts.bump_counter(model, comment.target_id, "comment_count", -1)
    db.session.flush()
    return comment


def target_page(target_type: str, target_id: int) -> tuple[str, dict[str, Any]]:
    """The page (endpoint and its values) that shows a commentable target."""
    if target_type == Target.PICK:
        return "social.pick", {"pick_id": target_id}
    if target_type == Target.IDEA:
        return "ideas.show", {"idea_id": target_id}
    return "social.collection", {"collection_id": target_id}


def comment_target(comment: Comment) -> tuple[str, dict[str, Any]]:
    return target_page(comment.target_type, comment.target_id)


def recent_comment_of(comment_id: int) -> Comment:
    comment = db.session.scalar(
        select(Comment).where(Comment.id == comment_id).options(joinedload(Comment.author))
    )
    if comment is None:
        raise NotFound(_("There is no such comment."))
    return comment
