"""Sign-in sessions kept on the server.

The session cookie is signed but lives in the browser: a copy of it (or of the remember-me
cookie) works for as long as the server accepts it. So every sign-in is a `LoginSession` row
and the login identity both cookies carry ends with that row's secret; the user loader accepts
a cookie only while its row is not revoked. Signing out revokes the row, and a person can
revoke any of their sessions from the security page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.accounts.models import LoginSession, User
from app.database import write_intent
from app.extensions import db
from app.models import utcnow
from app.rules import NotFound

DEVICE_MAX = 80


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Macintosh|Mac OS X")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux")),
)


def describe_device(user_agent: str) -> str:
    """A person's words for a browser: "Firefox on Windows", not the whole User-Agent."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), "")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return (browser or system or user_agent.strip())[:DEVICE_MAX]


def open_session(user: User) -> LoginSession:
    """A new sign-in for `user` from this request's device; `user.get_id()` names it after."""
    secret = secrets.token_urlsafe(24)
    device, address = "", ""
    if has_request_context():
        device = describe_device(request.headers.get("User-Agent", ""))
        address = (request.remote_addr or "")[:45]
    record = LoginSession(
        user_id=user.id, secret_hash=hash_secret(secret), device=device, ip_address=address
    )
    db.session.add(record)
    db.session.flush()
    attach(user, record, secret)
    return record


def attach(user: User, record: LoginSession, secret: str) -> None:
    user.login_session = record
    user.login_session_key = secret


def touch(record: LoginSession) -> None:
    """Record that the session is in use, at most every few minutes: not a write per request.

    On SQLite a read-only request must not upgrade its transaction to a write (another writer
    would make it fail), so there only requests that write anyway record it.
    """
    now = utcnow()
    every = timedelta(seconds=current_app.config["LOGIN_SESSION_TOUCH_SECONDS"])
    if now - record.last_seen_at < every:
        return
    if write_intent.get() or db.engine.dialect.name != "sqlite":
        record.last_seen_at = now


def current_session(user: User) -> LoginSession | None:
    return user.login_session


def active_sessions(user: User) -> Sequence[LoginSession]:
    return db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    ).all()


def revoke(record: LoginSession) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()


def revoke_session(user: User, session_id: int) -> LoginSession:
    record = db.session.get(LoginSession, session_id)
    if record is None or record.user_id != user.id:
        raise NotFound(_("No such session."))
    revoke(record)
    return record


def revoke_all(user: User, *, keep: LoginSession | None = None) -> int:
    """End every session of `user` but `keep`; how many were ended."""
    statement = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(LoginSession.id != keep.id)
    result = db.session.execute(
        statement.values(revoked_at=utcnow()), execution_options={"synchronize_session": "fetch"}
    )
    return int(getattr(result, "rowcount", 0) or 0)
