"""Identifiers shaped like Stripe's (prefix + random base62 suffix)."""

from __future__ import annotations

import os
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# Bytes under this map evenly onto the alphabet (248 = 4 x 62); the others are drawn again.
_EVEN = 256 - 256 % len(_ALPHABET)
_SYSTEM_CHOICE = secrets.choice


def random_suffix(length: int) -> str:
    if secrets.choice is not _SYSTEM_CHOICE:
        # Replaced (a simulation draws every id from its seed): drawn through it.
        return "".join(secrets.choice(_ALPHABET) for _ in range(length))
    # One read of the system's randomness per id, not one per character (a transfer makes
    # seven ids; character by character they cost more than the rest of its bookkeeping).
    chars: list[str] = []
    while len(chars) < length:
        chars += [_ALPHABET[b % len(_ALPHABET)] for b in os.urandom(length + 8) if b < _EVEN]
    return "".join(chars[:length])


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
