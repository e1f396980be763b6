"""Demo follows, picks, collections, likes and comments for `flask seed`.

Chloé and Dev are the curators: they pick from Ana's, Bruno's and Emma's shops and build a
few collections each, with a note on most items (Chloé's "Calm mornings" is the rich one); the
others follow them (and the sellers), so every demo login opens on a feed with something in
it, runs of items added to one collection grouped into one card.
"""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from marketplace.models import Product, Shop
from social import follows, posts, reactions
from social.models import Pick, Target

FOLLOWS = {
    "farid": ["chloe", "dev", "ana"],
    "ana": ["chloe", "emma"],
    "bruno": ["dev", "chloe"],
    "emma": ["chloe", "ana"],
    "chloe": ["ana", "bruno", "emma", "dev"],
    "dev": ["bruno", "chloe"],
}

NOTES = [
    "I use it every single morning. Worth every cent.",
    "Made to last, and it only gets better with age.",
    "The kind of thing you keep for twenty years.",
    "A gift that always lands. I have bought three.",
    "Small studio, huge care. You can feel it.",
    "Simple, honest and beautifully made.",
]


# Each curator's collections: title, description, how many products.
COLLECTIONS = {
    "chloe": [
        (
            "Calm mornings",
            "The slow first hour of the day: a good cup, soft light, nothing rushed. "
            "Everything here has earned its place on my table.",
            8,
        ),
        ("Gifts that land", "Things I have given more than once, and would again.", 4),
        ("Small desk joys", "", 2),
    ],
    "dev": [
        ("Kit that lasts", "Bought once, used for years.", 6),
        ("Weekend cooking", "For long lunches with friends.", 3),
    ],
}

ITEM_NOTES = [
    "The first thing I reach for every morning.",
    "Heavier than it looks, in the best way.",
    "I have bought this as a gift three times.",
    "Ages beautifully. Mine is four years old.",
    "The colour is even better in real life.",
    "Small studio, huge care: you can feel it.",
]


def _mixed(items: list[Product]) -> list[Product]:
    """The products one from each shop in turn, as a curator's finds would be."""
    rank: dict[int, int] = {}
    order = []
    for product in items:
        rank[product.shop_id] = rank.get(product.shop_id, -1) + 1
        order.append((rank[product.shop_id], product.shop_id, product.id, product))
    return [row[-1] for row in sorted(order, key=lambda row: row[:3])]


def _rotated(items: list[Product], start: int) -> list[Product]:
    start %= max(len(items), 1)
    return items[start:] + items[:start]


def seed_social(progress: Progress) -> None:
    people = {u.handle: u for u in db.session.scalars(select(User))}
    if "chloe" not in people or db.session.scalar(select(Pick.id).limit(1)) is not None:
        return
    for handle, followed in FOLLOWS.items():
        for other in followed:
            if handle in people and other in people:
                follows.follow(people[handle], people[other])
    listed = list(
        db.session.scalars(
            select(Product)
            .join(Shop, Shop.id == Product.shop_id)
            .where(Product.listed.is_(True))
            .order_by(Product.id)
        )
    )
    if not listed:
        progress.step("no products to pick from")
        return
    curators = [people["chloe"], people["dev"]]
    for index, product in enumerate(listed):
        curator = curators[index % 2]
        if product.shop.owner_id == curator.id or index % 3 == 2:
            continue
        pick = posts.create_pick(curator, product.id, NOTES[index % len(NOTES)])
        for fan in ("farid", "ana", "emma")[: 1 + index % 3]:
            if fan in people and people[fan].id != pick.author_id:
                reactions.like(people[fan], Target.PICK, pick.id)
        if index % 4 == 0 and "farid" in people:
            reactions.add_comment(
                people["farid"], Target.PICK, pick.id, "Just ordered one. Thanks for the tip!"
            )
    for curator in curators:
        chosen = _mixed([p for p in listed if p.shop.owner_id != curator.id])
        start = 0 if curator.handle == "chloe" else 1
        for title, description, size in COLLECTIONS[curator.handle]:
            collection = posts.create_collection(curator, title, description)
            # Added in one sitting: followers see one card, "added 8 items to Calm mornings".
            for n, product in enumerate(_rotated(chosen, start)[:size]):
                note = ITEM_NOTES[(start + n) % len(ITEM_NOTES)] if n % 3 != 2 else ""
                posts.add_item(curator, collection, product.id, note)
            start += size
    progress.step(
        f"{sum(len(v) for v in FOLLOWS.values())} follows, picks and "
        f"{sum(len(v) for v in COLLECTIONS.values())} collections by @chloe and @dev"
    )
    db.session.flush()
