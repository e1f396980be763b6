"""Per-account sign-in throttling, beside the per-address rate limits on the log-in form.

A guesser with many addresses is held back by the account they aim at: after
ACCOUNT_LOGIN_FAILURES failed passwords (or ACCOUNT_CODE_FAILURES failed two-step codes)
within the window, that account's sign-in refuses further attempts for ACCOUNT_LOCK_SECONDS.
The lock is short, so nobody can keep a person out for long, and a password reset lifts it.

The counts live in the rate limiter's storage (Redis in production, memory in the embedded
mode), not in the database: a failed attempt answers with an error status, which rolls the
request's unit of work back, so a row counted there would vanish with it; the limiter's
storage is shared by every process, and its keys expire on their own.
"""

from __future__ import annotations

import math
import time
from enum import StrEnum

from flask import current_app
from limits import RateLimitItemPerSecond, parse
from limits.strategies import MovingWindowRateLimiter

from app.extensions import limiter

NAMESPACE = "kindred-account"


class Attempt(StrEnum):
    PASSWORD = "password"  # noqa: S105 - the name of a kind of attempt
    CODE = "code"


_FAILURES_SETTING = {
    Attempt.PASSWORD: "ACCOUNT_LOGIN_FAILURES",
    Attempt.CODE: "ACCOUNT_CODE_FAILURES",
}


def _moving() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(limiter.storage)


def _failures_limit(kind: Attempt) -> RateLimitItemPerSecond:
    item = parse(current_app.config[_FAILURES_SETTING[kind]])
    return RateLimitItemPerSecond(item.amount, item.get_expiry())


def _lock_limit() -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(1, current_app.config["ACCOUNT_LOCK_SECONDS"])


def _notice_limit() -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(1, current_app.config["ACCOUNT_LOCK_NOTICE_SECONDS"])


def is_locked(account: str) -> bool:
    return not limiter.limiter.test(_lock_limit(), NAMESPACE, "lock", account)


def lock_seconds_left(account: str) -> int:
    """How long the account's sign-in stays paused (at least a second while it is)."""
    reset_at, _remaining = limiter.limiter.get_window_stats(
        _lock_limit(), NAMESPACE, "lock", account
    )
    return max(1, math.ceil(reset_at - time.time()))


def record_failure(kind: Attempt, account: str) -> bool:
    """Count a failed attempt; True when it is the one that locks the account."""
    moving, failures = _moving(), _failures_limit(kind)
    moving.hit(failures, NAMESPACE, kind.value, account)
    if moving.test(failures, NAMESPACE, kind.value, account):
        return False
    limiter.limiter.hit(_lock_limit(), NAMESPACE, "lock", account)
    # The lock holds the next attempts back; once it ends, counting starts afresh.
    moving.clear(failures, NAMESPACE, kind.value, account)
    return True


def first_notice(account: str) -> bool:
    """Whether the owner should hear of this lock: once per ACCOUNT_LOCK_NOTICE_SECONDS."""
    return limiter.limiter.hit(_notice_limit(), NAMESPACE, "notice", account)


def clear_failures(kind: Attempt, account: str) -> None:
    """Forget the failed attempts of one kind (that kind just succeeded); a lock stays."""
    _moving().clear(_failures_limit(kind), NAMESPACE, kind.value, account)


def clear(account: str) -> None:
    """Forget every failure and lift the lock (the owner reset their password)."""
    for kind in Attempt:
        clear_failures(kind, account)
    limiter.limiter.clear(_lock_limit(), NAMESPACE, "lock", account)


def account_key(user_id: int | None, login: str) -> str:
    """Who the attempts aim at: the account when there is one; otherwise the name typed, so a
    name without an account locks the same way and the lock says nothing of who exists."""
    return f"user:{user_id}" if user_id is not None else f"login:{login}"
