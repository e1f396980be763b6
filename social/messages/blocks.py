"""Blocking a person: while either of two people has blocked the other, neither can start or
continue a conversation with the other. The blocked person is told only that they cannot
send (nothing says they were blocked)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import Forbidden, RuleViolation
from social.messages.models import Block


def block(blocker: User, person: User) -> None:
    if blocker.id == person.id:
        raise RuleViolation(_("You cannot block yourself."))
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # One statement: blocking twice (two tabs) is one block.
    db.session.execute(
        insert(Block)
        .values(blocker_id=blocker.id, blocked_id=person.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[Block.blocker_id, Block.blocked_id])
    )


def unblock(blocker: User, person: User) -> None:
    db.session.execute(
        delete(Block)
        .where(Block.blocker_id == blocker.id, Block.blocked_id == person.id)
        .execution_options(synchronize_session=False)
    )


def has_blocked(blocker_id: int, person_id: int) -> bool:
    return (
        db.session.scalar(
            select(Block.blocker_id).where(
                Block.blocker_id == blocker_id, Block.blocked_id == person_id
            )
        )
        is not None
    )


def check_can_write(sender: User, recipient_id: int) -> None:
    """Refuse a message between two people when either blocked the other: the one who
    blocked is told how to undo it; the other gets a neutral answer."""
    rows = set(
        db.session.execute(
            select(Block.blocker_id, Block.blocked_id).where(
                or_(
                    (Block.blocker_id == sender.id) & (Block.blocked_id == recipient_id),
                    (Block.blocker_id == recipient_id) & (Block.blocked_id == sender.id),
                )
            )
        ).all()
    )
    if (sender.id, recipient_id) in rows:
        raise Forbidden(_("You blocked this person. Unblock them to send a message."))
    if rows:
        raise Forbidden(_("You can't send messages in this conversation."))


def blocked_people(blocker: User) -> list[Block]:
    return list(
        db.session.scalars(
            select(Block).where(Block.blocker_id == blocker.id).order_by(Block.created_at.desc())
        )
    )
