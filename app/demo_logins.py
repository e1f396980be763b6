"""Prints the demo logins before `make run` starts the server."""

from __future__ import annotations

from app.accounts.seed import demo_logins


def main() -> None:
    print("\nKindred demo — log in with any of these (password for all: kindred-demo):")
    for email, _password, role in demo_logins():
        print(f"  {email:<24} {role}")
    print("Open http://127.0.0.1:5000 — payments are emulated: no Stripe keys, no network.")
    print("Mail lands in the outbox: http://127.0.0.1:5000/dev/outbox\n")


if __name__ == "__main__":
    main()
