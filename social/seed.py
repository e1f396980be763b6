"""Demo follows, picks, collections, likes and comments for `flask seed`.

Chloé and Dev are the curators: they pick from Ana's, Bruno's and Emma's shops and build a
collection each; the others follow them (and the sellers), so every demo login opens on a
feed with something in it.
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
    titles = {"chloe": "Calm mornings", "dev": "Kit that lasts"}
    for curator in curators:
        collection = posts.create_collection(
            curator,
            titles[curator.handle],
            "A few things I reach for again and again.",
        )
        chosen = [p for p in listed if p.shop.owner_id != curator.id]
        offset = 0 if curator.handle == "chloe" else 1
        for product in chosen[offset::2][:6]:
            posts.add_item(curator, collection, product.id, "")
    progress.step(
        f"{sum(len(v) for v in FOLLOWS.values())} follows, picks and two collections by "
        "@chloe and @dev"
    )
    db.session.flush()
