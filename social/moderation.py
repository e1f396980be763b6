"""Reports and the moderators' queue: hide a pick, collection or comment; suspend a person.

Hidden content disappears from every page and feed (the queries filter on `hidden_at` and
on suspensions), but stays in the database so a moderator can restore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import Forbidden, NotFound, RuleViolation
from social.models import (
    REPORT_DETAILS_MAX,
    Collection,
    Comment,
    Pick,
    Report,
    ReportReason,
    Suspension,
    Target,
)
from social.rules import (
    check_length,
    ensure_can_post,
    forget_suspensions,
    is_moderator,
    plain_text,
)

HIDEABLE: dict[str, Any] = {
    Target.PICK: Pick,
    Target.COLLECTION: Collection,
    Target.COMMENT: Comment,
}


@dataclass(frozen=True)
class ReportableKind:
    """A kind of thing a feature lets people report besides social's own (a message): its
    model (with `id` and `hidden_at`), the column naming its author, whether a person may see
    it at all (someone who may not is told there is nothing there), and what the moderators'
    queue shows of a report of it: (label, endpoint, values)."""

    model: Any
    author_column: Any
    may_see: Callable[[User, int], bool]
    describe: Callable[[Report, Any], tuple[str, str | None, dict[str, Any]]]


def register_kind(app: Flask, target_type: str, kind: ReportableKind) -> None:
    app.extensions.setdefault("kindred_reportable_kinds", {})[target_type] = kind


def _kinds() -> dict[str, ReportableKind]:
    found: dict[str, ReportableKind] = current_app.extensions.get("kindred_reportable_kinds", {})
    return found


def _hideable(target_type: str) -> Any:
    kind = _kinds().get(target_type)
    return kind.model if kind is not None else HIDEABLE.get(target_type)


def _check_moderator(actor: User) -> None:
    if not is_moderator(actor):
        raise Forbidden(_("Only moderators can do that."))


def _author_id(target_type: str, target_id: int) -> int | None:
    """Who wrote it (for a person, themselves); None when it does not exist."""
    if target_type == Target.USER:
        return target_id if db.session.get(User, target_id) is not None else None
    kind = _kinds().get(target_type)
    if kind is not None:
        return db.session.scalar(select(kind.author_column).where(kind.model.id == target_id))
    model = HIDEABLE.get(target_type)
    if model is None:
        return None
    column = model.owner_id if model is Collection else model.author_id
    found: int | None = db.session.scalar(select(column).where(model.id == target_id))
    return found


def check_reportable(actor: User, target_type: str, target_id: int) -> None:
    """Something a person may report: it exists, and someone else wrote it."""
    kind = _kinds().get(target_type)
    known = target_type in Target.REPORTABLE or kind is not None
    author_id = _author_id(target_type, target_id) if known else None
    if kind is not None and author_id is not None and not kind.may_see(actor, target_id):
        author_id = None  # what they cannot see is not there for them
    if author_id is None:
        raise NotFound(_("There is nothing to report there."))
    if author_id == actor.id:
        raise Forbidden(
            _("This is yours: you can edit or remove it, but not report it to the moderators.")
        )


def report(actor: User, target_type: str, target_id: int, reason: str, details: str = "") -> Report:
    ensure_can_post(actor)
    check_reportable(actor, target_type, target_id)
    if reason not in ReportReason.ALL:
        raise RuleViolation(_("Choose a reason from the list."), field="reason")
    clean = plain_text(details)
    check_length(clean, "details", REPORT_DETAILS_MAX)
    already = db.session.scalar(
        select(Report).where(
            Report.reporter_id == actor.id,
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.resolved_at.is_(None),
        )
    )
    if already is not None:
        return already  # reporting twice adds nothing to the queue
    found = Report(
        reporter_id=actor.id,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=clean,
    )
    db.session.add(found)
    db.session.flush()
    return found


@dataclass
class QueueEntry:
    report: Report
    label: str
    author: User | None
    hidden: bool
    endpoint: str | None
    values: dict[str, Any]


def open_reports(actor: User, limit: int = 100) -> list[QueueEntry]:
    _check_moderator(actor)
    reports = list(
        db.session.scalars(
            select(Report).where(Report.resolved_at.is_(None)).order_by(Report.id).limit(limit)
        )
    )
    return [_describe(report) for report in reports]


def _describe(found: Report) -> QueueEntry:
    target_id = found.target_id
    if found.target_type == Target.USER:
        person = db.session.get(User, target_id)
        return QueueEntry(
            found,
            f"@{person.handle}" if person else _("(removed)"),
            person,
            person is not None and db.session.get(Suspension, person.id) is not None,
            "profiles.show" if person else None,
            {"handle": person.handle} if person else {},
        )
    kind = _kinds().get(found.target_type)
    model = kind.model if kind is not None else HIDEABLE.get(found.target_type)
    row = db.session.get(model, target_id) if model is not None else None
    if row is None:
        return QueueEntry(found, _("(removed)"), None, False, None, {})
    if kind is not None:
        label, endpoint, values = kind.describe(found, row)
        author = db.session.get(User, _author_id(found.target_type, target_id) or 0)
        return QueueEntry(found, label, author, row.hidden_at is not None, endpoint, values)
    if isinstance(row, Pick):
        return QueueEntry(
            found,
            row.note[:140] or row.product.title,
            row.author,
            row.hidden_at is not None,
            "social.pick",
            {"pick_id": row.id},
        )
    if isinstance(row, Collection):
        return QueueEntry(
            found,
            row.title,
            row.owner,
            row.hidden_at is not None,
            "social.collection",
            {"collection_id": row.id},
        )
    endpoint = "social.pick" if row.target_type == Target.PICK else "social.collection"
    key = "pick_id" if row.target_type == Target.PICK else "collection_id"
    return QueueEntry(
        found, row.body[:140], row.author, row.hidden_at is not None, endpoint, {key: row.target_id}
    )


def _resolve(actor: User, target_type: str, target_id: int, resolution: str) -> None:
    db.session.execute(
        update(Report)
        .where(
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.resolved_at.is_(None),
        )
        .values(resolved_at=utcnow(), resolved_by_id=actor.id, resolution=resolution)
        .execution_options(synchronize_session=False)
    )


def hide(actor: User, target_type: str, target_id: int) -> None:
    _check_moderator(actor)
    model = _hideable(target_type)
    row = db.session.get(model, target_id) if model is not None else None
    if row is None:
        raise NotFound(_("There is nothing to hide there."))
    row.hidden_at = row.hidden_at or utcnow()
    _resolve(actor, target_type, target_id, "hidden")
    db.session.flush()


def unhide(actor: User, target_type: str, target_id: int) -> None:
    _check_moderator(actor)
    model = _hideable(target_type)
    row = db.session.get(model, target_id) if model is not None else None
    if row is None:
        raise NotFound(_("There is nothing to hide there."))
    row.hidden_at = None
    db.session.flush()


def suspend(actor: User, person: User, reason: str = "") -> Suspension:
    _check_moderator(actor)
    if person.id == actor.id or person.is_admin:
        raise RuleViolation(_("Moderators cannot be suspended here."))
    found = db.session.get(Suspension, person.id)
    if found is None:
        found = Suspension(
            user_id=person.id, reason=plain_text(reason)[:500], suspended_by_id=actor.id
        )
        db.session.add(found)
    # Every session and token of theirs stops working at the next request (see init_app).
    _resolve(actor, Target.USER, person.id, "suspended")
    db.session.flush()
    forget_suspensions()
    return found


def unsuspend(actor: User, person: User) -> None:
    _check_moderator(actor)
    found = db.session.get(Suspension, person.id)
    if found is not None:
        db.session.delete(found)
        db.session.flush()
    forget_suspensions()


def dismiss(actor: User, report_id: int) -> None:
    _check_moderator(actor)
    found = db.session.get(Report, report_id)
    if found is None:
        raise NotFound(_("There is no such report."))
    _resolve(actor, found.target_type, found.target_id, "dismissed")
    db.session.flush()


def author_of(target_type: str, target_id: int) -> User | None:
    if target_type == Target.USER:
        return db.session.get(User, target_id)
    if target_type in _kinds():
        return db.session.get(User, _author_id(target_type, target_id) or 0)
    row = db.session.get(HIDEABLE[target_type], target_id) if target_type in HIDEABLE else None
    if row is None:
        return None
    return row.owner if isinstance(row, Collection) else row.author


@dataclass
class Restorable:
    """Something a moderator took down and may bring back."""

    target_type: str
    target_id: int
    label: str
    since: datetime


def taken_down(
    actor: User, limit: int = 50
) -> tuple[list[Restorable], list[tuple[User, Suspension]]]:
    """Hidden picks, collections and comments, and suspended people, newest first."""
    _check_moderator(actor)
    hidden: list[Restorable] = []
    for row in _hidden(Pick, limit):
        hidden.append(
            Restorable("pick", row.id, row.note[:80] or f"#{row.id}", _since(row.hidden_at))
        )
    for row in _hidden(Collection, limit):
        hidden.append(Restorable("collection", row.id, row.title, _since(row.hidden_at)))
    for row in _hidden(Comment, limit):
        hidden.append(Restorable("comment", row.id, row.body[:80], _since(row.hidden_at)))
    for target_type, kind in _kinds().items():
        for row in _hidden(kind.model, limit):
            label = str(getattr(row, "body", "") or f"#{row.id}")[:80]
            hidden.append(Restorable(target_type, row.id, label, _since(row.hidden_at)))
    hidden.sort(key=lambda item: item.since, reverse=True)
    rows = db.session.execute(
        select(User, Suspension)
        .join(Suspension, Suspension.user_id == User.id)
        .order_by(Suspension.created_at.desc())
        .limit(limit)
    )
    suspended = [(person, suspension) for person, suspension in rows]
    return hidden[:limit], suspended


def _hidden(model: Any, limit: int) -> list[Any]:
    return list(
        db.session.scalars(
            select(model)
            .where(model.hidden_at.is_not(None))
            .order_by(model.hidden_at.desc())
            .limit(limit)
        )
    )


def _since(when: datetime | None) -> datetime:
    assert when is not None
    return when
