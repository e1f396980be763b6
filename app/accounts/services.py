"""The account use cases. They add and flush; the caller's unit of work commits."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from app.accounts import sessions, throttle, two_step
from app.accounts.models import (
    BIO_MAX,
    DEFAULT_SCOPES,
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    HANDLE_MAX,
    TOKEN_SCOPES,
    ApiToken,
    LoginSession,
    User,
    new_session_nonce,
)
from app.accounts.passwords import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.database import write_intent
from app.extensions import db
from app.hooks import ViewerFact, hooks
from app.models import utcnow
from app.rules import Conflict, Forbidden, NotFound, RuleViolation

HANDLE_RE = re.compile(rf"^[a-z0-9_]{{3,{HANDLE_MAX}}}$")
# Handles that would shadow a page of the site or mislead people.
RESERVED_HANDLES = frozenset(
    {
        "admin",
        "api",
        "account",
        "login",
        "logout",
        "signup",
        "support",
        "kindred",
        "root",
        "staff",
        "help",
        "shop",
        "shops",
        "static",
        "media",
        "settings",
        "about",
        "system",
    }
)
TOKEN_PREFIX = "kdr_"  # noqa: S105 - a public prefix, not a secret
RESET_SALT = "password-reset"


# --- input rules ---------------------------------------------------------------------------


def normalise_email(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        raise RuleViolation(_("Enter your email address."), field="email")
    if len(raw) > EMAIL_MAX:
        raise RuleViolation(_("That email address is too long."), field="email")
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise RuleViolation(_("Enter a valid email address."), field="email") from None
    return checked.normalized.lower()


def normalise_handle(raw: str) -> str:
    handle = (raw or "").strip().lstrip("@").lower()
    if not HANDLE_RE.match(handle):
        raise RuleViolation(
            _(
                "A handle has 3 to %(max)d characters: letters, digits and underscores.",
                max=HANDLE_MAX,
            ),
            field="handle",
        )
    if handle in RESERVED_HANDLES:
        raise RuleViolation(_("That handle is reserved. Please choose another."), field="handle")
    return handle


def check_password_strength(password: str, *, field: str = "password") -> None:
    if len(password or "") < PASSWORD_MIN:
        raise RuleViolation(
            _("Use at least %(min)d characters for your password.", min=PASSWORD_MIN),
            field=field,
        )
    if len(password) > PASSWORD_MAX:
        raise RuleViolation(
            _("Use at most %(max)d characters for your password.", max=PASSWORD_MAX),
            field=field,
        )
    if password.strip() == "" or len(set(password)) < 3:
        raise RuleViolation(_("That password is too easy to guess."), field=field)


def names_someone() -> bool:
    """Whether the request carries anything that may sign someone in: a session naming them,
    a remember-me cookie, or an API token already checked. Without one the visitor is
    anonymous, and nobody needs loading to know it."""
    from flask import request, session

    return bool(
        session.get("_user_id")
        or g.get("api_token_user")
        or request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    )


def current_person() -> User:
    """The logged-in user as a real object (not Flask-Login's proxy, which must never be
    stored or passed to login_user: it would resolve to itself)."""
    from flask_login import current_user

    user = current_user._get_current_object()
    if not isinstance(user, User):
        raise RuntimeError("no one is logged in")
    return user


# --- sign-up and log-in --------------------------------------------------------------------


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email)) is not None


def handle_taken(handle: str) -> bool:
    return db.session.scalar(select(User.id).where(User.handle == handle)) is not None


def register(email: str, handle: str, password: str, display_name: str = "") -> User:
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for name, check, value in (
        ("email", normalise_email, email),
        ("handle", normalise_handle, handle),
    ):
        try:
            clean[name] = check(value)
        except RuleViolation as exc:
            errors.update(exc.errors)
    try:
        check_password_strength(password)
    except RuleViolation as exc:
        errors.update(exc.errors)
    if "email" in clean and email_taken(clean["email"]):
        errors["email"] = [_("An account with this email already exists. Try logging in.")]
    if "handle" in clean and handle_taken(clean["handle"]):
        errors["handle"] = [_("That handle is taken. Please choose another.")]
    if errors:
        first = next(iter(errors.values()))[0]
        raise RuleViolation(first, errors=errors)
    user = User(
        email=clean["email"],
        handle=clean["handle"],
        display_name=(display_name or "").strip()[:DISPLAY_NAME_MAX],
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class PasswordCheck:
    """What a sign-in attempt with a password came to."""

    user: User | None = None  # the account, when the password matched
    locked: bool = False  # refused: too many failures for this account, for a few minutes
    notify: User | None = None  # this failure locked the account: its owner should hear of it
    retry_after: int | None = None  # while locked: the seconds left


def _find_login(login: str) -> tuple[str, User | None]:
    key = (login or "").strip().lower().lstrip("@")
    column = User.email if "@" in key else User.handle
    return key, db.session.scalar(select(User).where(column == key))


def check_password(login: str, password: str) -> PasswordCheck:
    """The password step of signing in, throttled per account (app.accounts.throttle)."""
    key, user = _find_login(login)
    account = throttle.account_key(user.id if user else None, key)
    if throttle.is_locked(account):
        return PasswordCheck(locked=True, retry_after=throttle.lock_seconds_left(account))
    if not verify_password(user.password_hash if user else None, password or ""):
        if throttle.record_failure(throttle.Attempt.PASSWORD, account):
            notify = user if user is not None and throttle.first_notice(account) else None
            return PasswordCheck(
                locked=True, notify=notify, retry_after=throttle.lock_seconds_left(account)
            )
        return PasswordCheck()
    assert user is not None
    throttle.clear_failures(throttle.Attempt.PASSWORD, account)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return PasswordCheck(user=user)


def authenticate(login: str, password: str) -> User | None:
    """The user for an email or handle and password, or None. Same cost either way."""
    user = check_password(login, password).user
    if user is not None:
        user.last_login_at = utcnow()
    return user


def sign_out_everywhere(user: User) -> None:
    user.session_nonce = new_session_nonce()
    sessions.revoke_all(user)


def revoke_all_tokens(user: User) -> int:
    """Revoke every active API token of `user`; how many were revoked."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": "fetch"},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def active_tokens(user: User) -> list[ApiToken]:
    return [token for token in user.tokens if token.is_active]


def _viewer_query(name: str, build: Callable[[list[ViewerFact]], Any]) -> tuple[Any, list[Any]]:
    """The query that loads the person making a request with the facts features read about
    them on every request (app.hooks.ViewerFact): one query instead of one per fact. Built
    once per app; outside a request, without the facts."""
    if not has_request_context():
        return build([]), []
    facts = hooks().viewer_facts
    kept: dict[str, Any] = current_app.extensions.setdefault("kindred_viewer_queries", {})
    if name not in kept:
        kept[name] = build(facts)
    return kept[name], facts


def _keep_facts(facts: list[ViewerFact], user_id: int, values: Sequence[Any]) -> None:
    for fact, value in zip(facts, values, strict=True):
        fact.keep(user_id, value)


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the person a session (or remember-me) cookie names, while
    its sign-in session is live on the server. One query: the person, the session, the facts."""
    user_id, _sep, rest = session_id.partition(":")
    nonce, _sep, key = rest.partition(":")
    if not user_id.isdigit() or not nonce or not key:
        return None
    statement, facts = _viewer_query(
        "session",
        lambda facts: (
            select(User, LoginSession, *[fact.expression(User.id) for fact in facts])
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(
                User.id == bindparam("user_id"),
                LoginSession.secret_hash == bindparam("secret_hash"),
                LoginSession.revoked_at.is_(None),
            )
        ),
    )
    row = db.session.execute(
        statement, {"user_id": int(user_id), "secret_hash": sessions.hash_secret(key)}
    ).first()
    if row is None or not hmac.compare_digest(row[0].session_nonce, nonce):
        return None
    user: User = row[0]
    sessions.attach(user, row[1], key)
    sessions.touch(row[1])
    _keep_facts(facts, user.id, row[2:])
    return user


def change_password(
    user: User,
    current: str,
    new: str,
    *,
    keep: LoginSession | None = None,
    revoke_tokens: bool = True,
) -> None:
    """Change the password; every other sign-in session ends (`keep`, the one making the
    change, goes on), and the API tokens too unless the person chose to keep them."""
    if not verify_password(user.password_hash, current or ""):
        raise RuleViolation(_("Your current password is not right."), field="current_password")
    check_password_strength(new, field="new_password")
    user.password_hash = hash_password(new)
    sessions.revoke_all(user, keep=keep)
    if revoke_tokens:
        revoke_all_tokens(user)


# --- password reset ------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Changes whenever the password does, so a link works once and no longer after a reset.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def find_user_by_email(email: str) -> User | None:
    try:
        key = normalise_email(email)
    except RuleViolation:
        return None
    return db.session.scalar(select(User).where(User.email == key))


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "p": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User:
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise RuleViolation(
            _("This reset link has expired. Please ask for a new one."), status=400
        ) from None
    except BadSignature:
        raise RuleViolation(_("This reset link is not valid."), status=400) from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not hmac.compare_digest(_password_fingerprint(user), str(data.get("p"))):
        raise RuleViolation(
            _("This reset link has already been used. Please ask for a new one."), status=400
        )
    return user


def reset_password(token: str, new: str) -> User:
    """A reset means the password may be known to someone else: every session and every API
    token of the account ends with it."""
    user = user_for_reset_token(token)
    check_password_strength(new)
    user.password_hash = hash_password(new)
    sign_out_everywhere(user)
    revoke_all_tokens(user)
    # Whoever was guessing, the owner now holds a new password: let them sign in at once.
    throttle.clear(throttle.account_key(user.id, ""))
    return user


# --- profile -------------------------------------------------------------------------------


@dataclass
class ProfileChanges:
    display_name: str
    bio: str
    locale: str | None = None


def update_profile(user: User, changes: ProfileChanges) -> User:
    display_name = (changes.display_name or "").strip()
    bio = (changes.bio or "").strip()
    if len(display_name) > DISPLAY_NAME_MAX:
        raise RuleViolation(
            _("Use at most %(max)d characters.", max=DISPLAY_NAME_MAX), field="display_name"
        )
    if len(bio) > BIO_MAX:
        raise RuleViolation(_("Use at most %(max)d characters.", max=BIO_MAX), field="bio")
    languages = current_app.config["LANGUAGES"]
    if changes.locale not in (None, "", *languages):
        raise RuleViolation(_("Choose one of the offered languages."), field="locale")
    user.display_name = display_name
    user.bio = bio
    user.locale = changes.locale or None
    return user


def save_language(user: User, language: str) -> None:
    """Keep the language a person picked on the site (the footer's switcher) as theirs."""
    if language not in current_app.config["LANGUAGES"]:
        raise RuleViolation(_("Choose one of the offered languages."), field="locale")
    user.locale = language


def user_by_handle(handle: str) -> User:
    user = db.session.scalar(select(User).where(User.handle == (handle or "").lower()))
    if user is None:
        raise NotFound(_("No one here goes by that name."))
    return user


# --- personal access tokens ----------------------------------------------------------------


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_labels() -> dict[str, str]:
    return {
        "read": _("Read"),
        "write": _("Change"),
        "payouts": _("Payouts"),
    }


def create_token(
    user: User, name: str, scopes: Sequence[str] | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise RuleViolation(_("Give the token a name, so you know what uses it."), field="name")
    if len(name) > 80:
        raise RuleViolation(_("Use at most %(max)d characters.", max=80), field="name")
    wanted = list(DEFAULT_SCOPES if scopes is None else scopes)
    if not wanted or any(scope not in TOKEN_SCOPES for scope in wanted):
        raise RuleViolation(
            _("Choose what the token may do: read, change, payouts."), field="scopes"
        )
    held = token_scopes()
    if held is not None and not set(wanted) <= held:
        # A token cannot mint a token that may do more than itself.
        raise Forbidden(
            _("This token may not create a token that can do more than it can."), field="scopes"
        )
    if "payouts" in wanted:
        refusal = two_step.require_two_step(user)
        if refusal is not None:
            raise RuleViolation(refusal.message, field="scopes", status=403)
    active = db.session.scalar(
        select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if (active or 0) >= 20:
        raise Conflict(_("You have 20 active tokens. Revoke one before creating another."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        token_hash=_hash_token(secret),
        scopes=" ".join(scope for scope in TOKEN_SCOPES if scope in wanted),
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def request_token() -> ApiToken | None:
    """The API token the current request is authenticated by, if any (not a browser session)."""
    if not has_request_context():
        return None
    token = g.get("kindred_api_token")
    return token if isinstance(token, ApiToken) else None


def token_scopes() -> frozenset[str] | None:
    """The scopes of the token authenticating this request; None for a browser session (or
    no one), which is not limited by scopes."""
    token = request_token()
    return token.scope_set if token is not None else None


def has_scope(scope: str) -> bool:
    """Whether the request may do what `scope` covers: a session may; a token needs it."""
    held = token_scopes()
    return held is None or scope in held


def require_scope(scope: str) -> None:
    """Refuse (403) a token-authenticated request whose token lacks `scope`."""
    if not has_scope(scope):
        raise Forbidden(
            _("This token may not do that: it needs the “%(scope)s” scope.", scope=scope)
        )


def revoke_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def user_for_token(secret: str) -> User | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    # The token, its user and the facts about them in one query.
    statement, facts = _viewer_query(
        "token",
        lambda facts: (
            select(ApiToken, *[fact.expression(ApiToken.user_id) for fact in facts])
            .options(joinedload(ApiToken.user))
            .where(ApiToken.token_hash == bindparam("token_hash"))
        ),
    )
    row = db.session.execute(statement, {"token_hash": _hash_token(secret)}).first()
    if row is None or row[0].revoked_at is not None:
        return None
    token: ApiToken = row[0]
    _keep_facts(facts, token.user_id, row[1:])
    if has_request_context():
        g.kindred_api_token = token  # its scopes: token_scopes()
    now = utcnow()
    # Recording use on a read would turn every API read into a write (and, on SQLite, take the
    # write lock); writes record it, to a minute's grain.
    stale = token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60
    if stale and write_intent.get():
        token.last_used_at = now
    return token.user
