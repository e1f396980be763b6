"""Two-step sign-in: a code from an authenticator app (TOTP, RFC 6238) after the password.

A person turns it on from the account's security page by scanning a QR code and confirming
one code; they get ten single-use recovery codes, shown once and stored only as hashes. A
TOTP code is accepted once: the last time step used is kept, so a code seen over a shoulder
is worthless after it was typed. Wrong codes count against the account like wrong passwords
(app.accounts.throttle).

Pages and API calls that change where money goes call `require_two_step(user)` (or wear the
`two_step_required` decorator): two-step must be on first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import pyotp
import segno
from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete, select

from app.accounts import throttle
from app.accounts.models import RecoveryCode, User
from app.accounts.passwords import verify_password
from app.extensions import db
from app.models import utcnow
from app.rules import RuleViolation

RECOVERY_CODES = 10
# 16 characters of base 32: 80 bits, so a plain SHA-256 of a code is safe to store.
RECOVERY_CODE_CHARS = 16
DRIFT_STEPS = 1  # a code from the step before or after (a clock a little off) is accepted


# --- the secret and its QR code ------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["SITE_NAME"]
    )


def qr_code_svg(uri: str, title: str) -> Markup:
    """The QR code as inline SVG: no image request, nothing for the CSP to allow."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=title, dark="#000", light="#fff")
    # segno escapes what it writes; the title is ours.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- codes ---------------------------------------------------------------------------------


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step `code` belongs to (now, or one step either side), if it is later than
    `after`, the last step accepted."""
    digits = _clean(code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time()) // totp.interval
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def check_totp(user: User, code: str, *, secret: str | None = None) -> bool:
    """Whether `code` is a fresh TOTP code for `user` (or for `secret`, being set up).
    A code accepted here cannot be used again."""
    key = secret or user.two_step_secret
    if not key:
        return False
    after = None if secret else user.two_step_last_step
    step = _matching_step(key, code, after)
    if step is None:
        return False
    user.two_step_last_step = step
    return True


def use_recovery_code(user: User, code: str) -> bool:
    cleaned = _clean(code)
    if len(cleaned) != RECOVERY_CODE_CHARS:
        return False
    found = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery(cleaned),
            RecoveryCode.used_at.is_(None),
        )
    )
    if found is None:
        return False
    found.used_at = utcnow()
    return True


def new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes; the codes, to show once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _c in range(RECOVERY_CODE_CHARS))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_CHARS, 4)))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(c)) for c in codes)
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


# --- turning it on and off -----------------------------------------------------------------


def _code_violation() -> RuleViolation:
    return RuleViolation(
        _("That code is not right. Enter the 6 digits your app shows now."), field="code"
    )


def _locked_violation() -> RuleViolation:
    return RuleViolation(
        _("Too many wrong codes. Please wait a few minutes and try again."), field="code"
    )


def verify_code(user: User, code: str, *, allow_recovery: bool = True) -> None:
    """Check a second-step code (or a recovery code), throttled per account; raises."""
    account = throttle.account_key(user.id, "")
    if throttle.is_locked(account):
        raise _locked_violation()
    if check_totp(user, code) or (allow_recovery and use_recovery_code(user, code)):
        throttle.clear_failures(throttle.Attempt.CODE, account)
        return
    if throttle.record_failure(throttle.Attempt.CODE, account):
        raise _locked_violation()
    raise _code_violation()


def enable(user: User, secret: str, code: str) -> list[str]:
    """Turn two-step on once `code` proves the app holds `secret`; the recovery codes."""
    if user.two_step_enabled:
        raise RuleViolation(_("Two-step verification is already on."))
    if not check_totp(user, code, secret=secret):
        raise _code_violation()
    user.two_step_secret = secret
    user.two_step_enabled_at = utcnow()
    return new_recovery_codes(user)


def disable(user: User, password: str, code: str) -> None:
    if not verify_password(user.password_hash, password or ""):
        raise RuleViolation(_("Your password is not right."), field="password")
    verify_code(user, code)
    user.two_step_secret = None
    user.two_step_enabled_at = None
    user.two_step_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    # Only the app's code: a recovery code must not mint ten more.
    verify_code(user, code, allow_recovery=False)
    return new_recovery_codes(user)


# --- the guard -----------------------------------------------------------------------------


def require_two_step(user: User) -> RuleViolation | None:
    """None when `user` has two-step sign-in on; otherwise the violation to show or raise
    (403): what changes where money goes needs it first."""
    if user.two_step_enabled:
        return None
    return RuleViolation(
        _("Turn on two-step verification first: it keeps where your money goes safe."),
        status=403,
    )


View = TypeVar("View", bound=Callable[..., Any])


def two_step_required(back: str) -> Callable[[View], View]:
    """For pages: without two-step on, send the person to turn it on, then back to the page
    named by the endpoint `back` (a GET page; the guarded view may be a POST)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user._get_current_object()
            if isinstance(user, User):
                violation = require_two_step(user)
                if violation is not None:
                    flash(violation.message, "info")
                    target = url_for("account.two_step", next=url_for(back), required=1)
                    return redirect(target, code=303 if request.method != "GET" else 302)
            return view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate
