"""The demo's polls: Ana's studio asks which glaze the ramen bowl (an idea the community
voted for) should have, open, with votes coming in; Emma's shop asked which colour of yarn to
dye next, closed, with its result in her followers' feeds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from app.models import utcnow
from app.placeholders import product_pictures
from marketplace.models import Shop
from social.idea_models import Idea
from social.polls import services as polls
from social.polls.models import Poll

GLAZES = ("Speckled sage", "Midnight blue", "Honey amber", "Chalk white")
YARNS = ("Madder red", "Woad blue", "Weld yellow")


def _person(handle: str) -> User | None:
    return db.session.scalar(select(User).where(User.handle == handle))


def _shop_of(handle: str) -> Shop | None:
    return db.session.scalar(
        select(Shop).join(User, User.id == Shop.owner_id).where(User.handle == handle)
    )


def _options(labels: tuple[str, ...], noun: str, category: str) -> list[polls.OptionInput]:
    return [
        polls.OptionInput(
            label, product_pictures(f"poll-{label}", f"{label} {noun}", category, 1)[0]
        )
        for label in labels
    ]


def seed_polls(progress: Progress) -> None:
    if db.session.scalar(select(Poll.id).limit(1)) is not None:
        return
    ana, emma = _shop_of("ana"), _shop_of("emma")
    voters = [p for h in ("farid", "chloe", "dev", "emma", "bruno") if (p := _person(h))]
    now = utcnow()
    if ana is not None:
        ramen = db.session.scalar(
            select(Idea).where(Idea.shop_id == ana.id, Idea.title.like("%ramen%")).limit(1)
        )
        glaze = polls.open_poll(
            ana.owner,
            ana,
            polls.PollInput(
                question="Which glaze should the ramen bowl have?",
                details="We are firing the first batch next month. Pick the glaze you would "
                "want on your table; the winner goes in the kiln.",
                opens_at=now,
                closes_at=now + timedelta(days=6),
                options=_options(GLAZES, "ramen bowl", "home/ceramics"),
                idea_id=ramen.id if ramen is not None else None,
            ),
        )
        for n, person in enumerate(voters[1:]):  # Farid (the demo shopper) has not voted
            polls.vote(person, glaze, glaze.options[n % 2].id)
        progress.step("@ana asks which glaze the ramen bowl should have (4 options, open)")
    if emma is not None:
        yarn = polls.open_poll(
            emma.owner,
            emma,
            polls.PollInput(
                question="Which colour should we dye next?",
                opens_at=now,
                closes_at=now + timedelta(days=3),
                options=_options(YARNS, "yarn skein", "craft/yarn"),
            ),
        )
        for n, person in enumerate(p for p in voters if p.id != emma.owner_id):
            polls.vote(person, yarn, yarn.options[min(n, 1)].id)
        polls.close_now(emma.owner, yarn)
        progress.step("@emma's poll on the next yarn colour closed: its result is in the feed")
