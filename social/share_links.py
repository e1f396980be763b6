"""Share links' rows: one per person and what they share, made on first use.

Posts make their author's link when they are published, and sharing makes a visitor's when
they share; both build on this, which needs neither.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.extensions import db
from social.models import ShareLink


def new_code() -> str:
    # 96 random bits: share codes cannot be guessed or enumerated.
    return secrets.token_urlsafe(12)


def link_for(
    sharer: User | int, target_type: str, target_id: int, product_id: int | None
) -> ShareLink:
    """The sharer's link to a target, created on first use (one per person and target)."""
    sharer_id = sharer if isinstance(sharer, int) else sharer.id
    statement = select(ShareLink).where(
        ShareLink.sharer_id == sharer_id,
        ShareLink.target_type == target_type,
        ShareLink.target_id == target_id,
    )
    found = db.session.scalar(statement)
    if found is not None:
        return found
    link = ShareLink(
        code=new_code(),
        sharer_id=sharer_id,
        target_type=target_type,
        target_id=target_id,
        product_id=product_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except IntegrityError:  # made at the same moment by another request
        found = db.session.scalar(statement)
        assert found is not None
        return found
    return link
