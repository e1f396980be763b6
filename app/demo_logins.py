"""Prints the demo logins before `make run` starts the server."""

from __future__ import annotations

import time

import pyotp

from app.accounts.seed import DEMO_TWO_STEP_HANDLE, DEMO_TWO_STEP_SECRET, demo_logins


def main() -> None:
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
    print("Open http://127.0.0.1:5000 — payments are emulated: no Stripe keys, no network.")
    print("Mail lands in the outbox: http://127.0.0.1:5000/dev/outbox\n")


if __name__ == "__main__":
    main()
