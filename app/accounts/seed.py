"""Demo people: the sellers, curators and shoppers the rest of the demo builds on."""

from __future__ import annotations

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.commands import Progress
from app.extensions import db
from app.media import store_image
from app.models import utcnow
from app.placeholders import initials_png

DEMO_PASSWORD = "kindred-demo"  # noqa: S105 - the published demo password
# Ana signs in in two steps (she is paid out, which needs it): this published key goes into
# any authenticator app, or `python -m app.demo_logins` prints her current code.
DEMO_TWO_STEP_HANDLE = "ana"
DEMO_TWO_STEP_SECRET = "KINDREDDEMOANA2FAKINDREDDEMOANA2"  # noqa: S105 - published demo key

# handle, name, bio, role in the demo
DEMO_PEOPLE = [
    (
        "ana",
        "Ana Duarte",
        "Ceramics from my little studio in Porto. Slow-made cups and bowls.",
        "seller",
    ),
    (
        "bruno",
        "Bruno Keller",
        "Vintage denim hunter. Everything checked, washed and mended.",
        "seller",
    ),
    (
        "chloe",
        "Chloé Martin",
        "Curator of small, useful, beautiful things. Picks for calm homes.",
        "curator",
    ),
    ("dev", "Dev Patel", "Outdoor kit that lasts. I only pick what I have used myself.", "curator"),
    ("emma", "Emma Lund", "Knits, dyes and wool from the north.", "seller"),
    ("farid", "Farid Haddad", "Here for the good finds.", "shopper"),
    ("admin", "Kindred Team", "Running the platform.", "admin"),
]


def seed_people(progress: Progress) -> None:
    password_hash = hash_password(DEMO_PASSWORD)  # hashed once: Argon2 is slow by design
    for handle, name, bio, role in DEMO_PEOPLE:
        avatar = store_image(
            initials_png(handle, name, (256, 256)),
            thumbnail_sizes=(256, 64),
            square=True,
        )
        db.session.add(
            User(
                email=f"{handle}@example.com",
                handle=handle if handle != "admin" else "kindred_team",
                display_name=name,
                bio=bio,
                password_hash=password_hash,
                avatar_key=avatar.thumbnails[256],
                is_admin=role == "admin",
                two_step_secret=DEMO_TWO_STEP_SECRET if handle == DEMO_TWO_STEP_HANDLE else None,
                two_step_enabled_at=utcnow() if handle == DEMO_TWO_STEP_HANDLE else None,
            )
        )
        progress.step(f"@{handle} ({role})")
    db.session.flush()


def demo_logins() -> list[tuple[str, str, str]]:
    return [(f"{handle}@example.com", DEMO_PASSWORD, role) for handle, _n, _b, role in DEMO_PEOPLE]
