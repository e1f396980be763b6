"""Identifiers shaped like Stripe's (prefix + random base62 suffix)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_suffix(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """Return e.g. ``pi_3PgafyB7WZ01zgkWSjxsAJo3``.

    Real Stripe ids start with a digit after the prefix for most objects; mimicking that keeps
    any app-side validation regexes honest.
    """
    return f"{prefix}_1{random_suffix(length - 1)}"


def checkout_session_id() -> str:
    # Checkout session ids are much longer than other ids and carry the mode in the prefix.
    return f"cs_test_a1{random_suffix(56)}"


def request_id() -> str:
    return f"req_{random_suffix(14)}"
