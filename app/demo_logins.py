"""Prints the demo logins before `make run` starts the server."""

from __future__ import annotations

import time

import pyotp
from dotenv import load_dotenv

from app.accounts.seed import DEMO_TWO_STEP_HANDLE, DEMO_TWO_STEP_SECRET, demo_logins
from app.config import base_url


def main() -> None:
    load_dotenv(override=False)
    print("\nKindred demo — log in with any of these (password for all: kindred-demo):")
    for email, _password, role in demo_logins():
        print(f"  {email:<24} {role}")
    totp = pyotp.TOTP(DEMO_TWO_STEP_SECRET)
    left = totp.interval - int(time.time()) % totp.interval
    print(
        f"{DEMO_TWO_STEP_HANDLE}@example.com signs in in two steps: after the password, enter "
        f"{totp.now()} (good for {left} more seconds; `.venv/bin/python -m app.demo_logins` "
        f"prints a fresh one), or add the key {DEMO_TWO_STEP_SECRET} to an authenticator app."
    )
    base = base_url()  # BASE_URL, or where `make run` is about to listen
    print(f"Open {base} — payments are emulated: no Stripe keys, no network.")
    print(f"Mail lands in the outbox: {base}/dev/outbox\n")


if __name__ == "__main__":
    main()
