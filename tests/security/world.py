"""A small marketplace to attack: an owner with one of everything, another user, an admin.

`build_world(app)` makes, through the real services and pages:

- the owner (Olivia): a shop with a listed product (two variants, a picture) and a draft, a
  pick with its share link, a public and a private collection, a comment, an API token, a
  report, a cart line, an order she bought (with its checkout) and an order she sold, a call
  for ideas with someone's idea in it, and an idea of her own for another shop;
- another user (Mallory), with her own shop, product and collection, for mixed-id attempts
  (her product's id with the owner's picture id);
- an admin, and two bystanders (a seller the owner buys from, a buyer who buys from her).

`world.objects()` maps names (mostly the URL parameters' own: `product_id`, `pick_id`…) to
the owner's values; `world.objects(fresh=True)` makes new ones on first use, for requests
that may delete or change what they name; `world.objects("mine")` is Mallory's own.
`world.fingerprint()` is every row of the owner's, so a test can prove others changed nothing
of hers. A new kind of object in URLs: make it in `build_world` (and a minter when requests
can delete it).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from PIL import Image
from sqlalchemy import Table, select

from app.accounts import services as accounts
from app.accounts import sessions as login_sessions
from app.extensions import db
from marketplace import cart as carts
from marketplace import products as product_services
from marketplace.models import Product, ShopStatus
from marketplace.returns.models import ReturnStatus
from payouts.models import HeldRefund
from social import ideas as idea_services
from social import moderation, reactions
from social.idea_models import IdeaReward
from social.messages import blocks as message_blocks
from social.messages import conversations as message_services
from social.messages import reporting as message_reporting
from social.messages.conversations import Draft
from social.models import Target
from tests.conftest import KindredClient, login
from tests.factories import (
    CallFactory,
    CollectionFactory,
    CouponFactory,
    IdeaFactory,
    PickFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
    return_of,
)
from tests.marketplace.shopping import buy, orders_of


def png(size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 90, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _commit() -> None:
    db.session.commit()


# --- the owner's objects, and making fresh ones ----------------------------------------------


Minter = Callable[["World", "Objects"], dict[str, Any]]


class Objects(Mapping[str, Any]):
    """A person's objects by name; with minters, the names they make are new on first use."""

    def __init__(
        self, world: World, values: dict[str, Any], minters: dict[str, Minter] | None = None
    ):
        self.world = world
        self.values = values
        self.minters = minters or {}
        self.minted: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.minted:
            return self.minted[key]
        if key in self.minters:
            self.minted.update(self.minters[key](self.world, self))
            _commit()
            return self.minted[key]
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def _mint_product(world: World, _o: Objects) -> dict[str, Any]:
    product = ProductFactory(
        shop=world.owner_shop,
        option1_name="Size",
        variants=[
            product_services.VariantInput(price_minor=2500, stock=5, option1="S"),
            product_services.VariantInput(price_minor=2700, stock=5, option1="M"),
        ],
    )
    product_services.add_images(world.owner, product, [product_services.ImageUpload(png())])
    _commit()
    return {
        "product_id": product.id,
        "product_slug": product.slug,
        "variant_id": product.variants[0].id,
        "image_id": product.images[0].id,
    }


def _mint_pick(world: World, _o: Objects) -> dict[str, Any]:
    pick = PickFactory(author=world.owner, product=ProductFactory(shop=world.seller_shop))
    return {"pick_id": pick.id, "code": pick.share_link.code}


def _mint_collection(world: World, o: Objects) -> dict[str, Any]:
    product = db.session.get(Product, o["product_id"])
    collection = CollectionFactory(owner=world.owner, products=[product])
    return {"collection_id": collection.id}


def _mint_comment(world: World, _o: Objects) -> dict[str, Any]:
    comment = reactions.add_comment(world.owner, Target.PICK, world.shared["pick_id"], "Lovely.")
    return {"comment_id": comment.id}


def _mint_token(world: World, _o: Objects) -> dict[str, Any]:
    token, _secret = accounts.create_token(world.owner, "fresh")
    db.session.flush()
    return {"token_id": token.id}


def _mint_login_session(world: World, _o: Objects) -> dict[str, Any]:
    # Another device of hers: revoking it must not sign out the browser making the request.
    record = login_sessions.open_session(world.owner)
    db.session.flush()
    return {"session_id": record.id}


def _mint_cart_line(world: World, _o: Objects) -> dict[str, Any]:
    product = ProductFactory(shop=world.seller_shop)
    line = carts.add(world.owner, product.variants[0].id, 1)
    db.session.flush()
    return {"line_id": line.id}


def _mint_report(world: World, _o: Objects) -> dict[str, Any]:
    report = moderation.report(world.owner, Target.USER, UserFactory().id, "spam")
    db.session.flush()
    return {"report_id": report.id}


def _open_poll(world: World) -> Any:
    from datetime import timedelta

    from app.models import utcnow
    from social.polls import services as polls

    now = utcnow()
    return polls.open_poll(
        world.owner,
        world.owner_shop,
        polls.PollInput(
            question="Which colour next?",
            opens_at=now,
            closes_at=now + timedelta(days=3),
            options=[polls.OptionInput("Red", png()), polls.OptionInput("Blue", png())],
        ),
    )


def _mint_poll(world: World, _o: Objects) -> dict[str, Any]:
    poll = _open_poll(world)
    db.session.flush()
    return {"poll_id": poll.id, "poll_option_id": poll.options[0].id}


def _mint_conversation(world: World, _o: Objects) -> dict[str, Any]:
    # The owner asks Sam's shop; Sam answers (a message of his she may report), with a picture.
    # A fresh one: a block an earlier request made is lifted first.
    message_blocks.unblock(world.owner, world.seller_shop.owner)
    conversation, _first = message_services.start(world.owner, world.seller_shop, Draft("Hi"))
    answer = message_services.send(world.seller_shop.owner, conversation, Draft("Hello!", [png()]))
    db.session.flush()
    return {
        "conversation_id": conversation.id,
        "message_id": answer.id,
        "picture_id": answer.pictures[0].id,
    }


MINTERS: dict[str, Minter] = {}
for _minter, _names in (
    (_mint_product, ("product_id", "product_slug", "variant_id", "image_id")),
    (_mint_pick, ("pick_id", "code")),
    (_mint_collection, ("collection_id",)),
    (_mint_comment, ("comment_id",)),
    (_mint_token, ("token_id",)),
    (_mint_login_session, ("session_id",)),
    (_mint_cart_line, ("line_id",)),
    (_mint_report, ("report_id",)),
    (_mint_poll, ("poll_id", "poll_option_id")),
    (_mint_conversation, ("conversation_id", "message_id", "picture_id")),
):
    for _name in _names:
        MINTERS[_name] = _minter


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    app: Flask
    owner: Any
    other: Any
    admin: Any
    seller_shop: Any = None
    owner_shop: Any = None
    shared: dict[str, Any] = field(default_factory=dict)
    others: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, KindredClient] = field(default_factory=dict)

    def user(self, role: str) -> Any:
        return {"other": self.other, "owner": self.owner, "admin": self.admin}.get(role)

    def objects(self, role: str = "owner", *, fresh: bool = False) -> Objects:
        """The owner's objects (the ones every role aims at), or the other user's own."""
        if role == "mine":
            return Objects(self, self.others)
        return Objects(self, self.shared, MINTERS if fresh else None)

    def client(self, role: str) -> KindredClient:
        if role not in self.clients:
            client: KindredClient = self.app.test_client()  # type: ignore[assignment]
            user = self.user(role)
            if user is not None:
                assert login(client, user).status_code == 302
            self.clients[role] = client
        return self.clients[role]

    def restore(self, role: str) -> None:
        """Undo what a request may do to the role itself: log out, pause the owner's shop."""
        user = self.user(role)
        client = self.clients.get(role)
        if user is not None and client is not None:
            with client.session_transaction() as session:
                logged_in = "_user_id" in session
            if not logged_in:
                db.session.refresh(user)
                assert login(client, user).status_code == 302
        db.session.commit()
        shop = db.session.get(type(self.owner_shop), self.owner_shop.id)
        if shop.status != ShopStatus.OPEN:
            shop.status = ShopStatus.OPEN
            db.session.commit()

    def fingerprint(self) -> dict[tuple[str, Any], dict[str, Any]]:
        """Every row of the owner's (counters others move by liking or visiting left out)."""
        db.session.commit()
        rows: dict[tuple[str, Any], dict[str, Any]] = {}
        for table, where in _owned_rows(self):
            keep = [c for c in table.columns if c.name not in CHANGED_BY_OTHERS]
            for row in db.session.execute(select(*keep).where(where)).mappings():
                key = tuple(row[c.name] for c in table.primary_key.columns)
                rows[(table.name, key)] = dict(row)
        return rows


# Counters and times that other people's legitimate actions move.
CHANGED_BY_OTHERS = {
    "like_count",
    "vote_count",
    "idea_count",
    "comment_count",
    "popularity",
    "clicks",
    "add_to_carts",
    "last_login_at",
    "last_used_at",
}


def _owned_rows(world: World) -> list[tuple[Table, Any]]:
    tables = db.metadata.tables
    owner_id, shop_id = world.owner.id, world.owner_shop.id

    def t(name: str) -> Table:
        return tables[name]

    products = select(t("products").c.id).where(t("products").c.shop_id == shop_id)
    collections = select(t("collections").c.id).where(t("collections").c.owner_id == owner_id)
    carts_ = select(t("carts").c.id).where(t("carts").c.user_id == owner_id)
    orders = select(t("orders").c.id).where(
        (t("orders").c.buyer_id == owner_id) | (t("orders").c.shop_id == shop_id)
    )
    return [
        (t("users"), t("users").c.id == owner_id),
        (t("api_tokens"), t("api_tokens").c.user_id == owner_id),
        (t("shops"), t("shops").c.owner_id == owner_id),
        (t("products"), t("products").c.shop_id == shop_id),
        (t("product_variants"), t("product_variants").c.shop_id == shop_id),
        (t("product_images"), t("product_images").c.product_id.in_(products)),
        (t("picks"), t("picks").c.author_id == owner_id),
        (t("collections"), t("collections").c.owner_id == owner_id),
        (t("collection_items"), t("collection_items").c.collection_id.in_(collections)),
        (t("comments"), t("comments").c.author_id == owner_id),
        (t("share_links"), t("share_links").c.sharer_id == owner_id),
        (t("carts"), t("carts").c.user_id == owner_id),
        (t("cart_lines"), t("cart_lines").c.cart_id.in_(carts_)),
        (t("checkouts"), t("checkouts").c.buyer_id == owner_id),
        (t("orders"), t("orders").c.id.in_(orders)),
        (t("order_lines"), t("order_lines").c.order_id.in_(orders)),
        (t("refunds"), t("refunds").c.order_id.in_(orders)),
        (t("reviews"), (t("reviews").c.buyer_id == owner_id) | (t("reviews").c.shop_id == shop_id)),
        (t("saved_addresses"), t("saved_addresses").c.user_id == owner_id),
        (t("social_settings"), t("social_settings").c.user_id == owner_id),
        (t("follows"), t("follows").c.follower_id == owner_id),
        (t("likes"), t("likes").c.user_id == owner_id),
        (t("reports"), t("reports").c.reporter_id == owner_id),
        (
            t("conversations"),
            (t("conversations").c.buyer_id == owner_id) | (t("conversations").c.shop_id == shop_id),
        ),
        (t("conversation_messages"), t("conversation_messages").c.sender_id == owner_id),
        (t("person_blocks"), t("person_blocks").c.blocker_id == owner_id),
        (t("notifications"), t("notifications").c.recipient_id == owner_id),
        (t("payees"), t("payees").c.user_id == owner_id),
        (t("cocreation_terms"), t("cocreation_terms").c.shop_id == shop_id),
        (t("idea_calls"), t("idea_calls").c.shop_id == shop_id),
        (t("ideas"), (t("ideas").c.shop_id == shop_id) | (t("ideas").c.author_id == owner_id)),
        (t("idea_votes"), t("idea_votes").c.user_id == owner_id),
        (
            t("idea_rewards"),
            (t("idea_rewards").c.shop_id == shop_id) | (t("idea_rewards").c.author_id == owner_id),
        ),
        (t("pool_members"), t("pool_members").c.shop_id == shop_id),
        (t("shop_bundles"), t("shop_bundles").c.shop_id == shop_id),
        (t("coupons"), t("coupons").c.shop_id == shop_id),
        (t("cart_coupons"), t("cart_coupons").c.cart_id.in_(carts_)),
        (t("polls"), t("polls").c.shop_id == shop_id),
        (t("poll_votes"), t("poll_votes").c.user_id == owner_id),
        # Only moderators and admins may change these, whoever they concern.
        (t("suspensions"), t("suspensions").c.user_id.isnot(None)),
        (t("platform_settings"), t("platform_settings").c.id.isnot(None)),
    ]


# Rows others' legitimate actions add for the owner (someone liked her pick, or wrote to her
# shop: a conversation she is part of).
NEW_ROWS_ALLOWED = {"notifications", "conversations"}


def changes(before: dict, after: dict) -> list[str]:
    """What differs between two fingerprints, as readable lines."""
    found = []
    for key, row in before.items():
        if key not in after:
            found.append(f"{key[0]} {key[1]} deleted")
        elif after[key] != row:
            diff = {c: (row[c], after[key][c]) for c in row if row[c] != after[key][c]}
            found.append(f"{key[0]} {key[1]} changed: {diff}")
    for key in after.keys() - before.keys():
        if key[0] not in NEW_ROWS_ALLOWED:
            found.append(f"{key[0]} {key[1]} added: {after[key]}")
    return found


def build_world(app: Flask, *, purchases: bool = True) -> World:
    """The world; without `purchases`, no orders or checkout (a second faster to build)."""
    owner = UserFactory(handle="olivia")
    other = UserFactory(handle="mallory")
    admin = UserFactory(handle="root", is_admin=True)
    world = World(app=app, owner=owner, other=other, admin=admin)

    world.seller_shop = ShopFactory(name="Sam's", slug="sams")
    world.owner_shop = ShopFactory(owner=owner, name="Olivia's", slug="olivias")
    minted = _mint_product(world, Objects(world, {}))
    listed = db.session.get(Product, minted["product_id"])
    draft = ProductFactory(shop=world.owner_shop, status="draft")
    bought = ProductFactory(shop=world.seller_shop, stock=5)

    if purchases:
        # Orders through the real checkout: the owner buys from Sam; a buyer buys from her.
        shopper = app.test_client()
        checkout = buy(shopper, owner, bought)
        order_bought = orders_of(checkout)[0]
        sold = buy(shopper, UserFactory(handle="bob"), listed)
        order_sold = orders_of(sold)[0]
        assert order_bought.status == order_sold.status == "paid", (order_bought, order_sold)
        # A refund Stripe made that no intent of ours caused, held for an admin.
        held = HeldRefund(
            stripe_refund_id="re_outside",
            charge_id=sold.stripe_charge_id or "",
            amount_minor=100,
            currency=sold.currency,
        )
        db.session.add(held)
        db.session.flush()
        # Returns: one the owner asked for, one asked of her shop, one taken to the moderators.
        bought_return = return_of(order_bought)
        sold_return = return_of(order_sold)
        escalated_return = return_of(order_sold, ReturnStatus.ESCALATED)
        world.shared.update(
            {
                "return_id": bought_return.id,
                "sold_return_id": sold_return.id,
                "escalated_return_id": escalated_return.id,
                "held_id": held.id,
                "public_id": checkout.public_id,
                "order_id": order_bought.id,
                "order_line_id": order_bought.lines[0].id,
                "sold_order_id": order_sold.id,
                "sold_order_line_id": order_sold.lines[0].id,
            }
        )

    pick = PickFactory(author=owner, product=bought, note="Mine.")
    collection = CollectionFactory(owner=owner, products=[listed, bought])
    private = CollectionFactory(owner=owner, is_public=False, products=[bought])
    comment = reactions.add_comment(owner, Target.PICK, pick.id, "Love it.")
    token, _secret = accounts.create_token(owner, "laptop")
    login_session = login_sessions.open_session(owner)
    report = moderation.report(owner, Target.USER, other.id, "spam")
    talk = _mint_conversation(world, Objects(world, {}))
    # Someone reported a message of Sam's: what a moderator sees of it.
    reported = message_reporting.report(
        owner,
        message_services.conversation_for(owner, talk["conversation_id"]),
        talk["message_id"],
        "spam",
    )
    # Co-creation: a call of her shop with someone's idea, and her own idea for Sam's shop.
    call = CallFactory(shop=world.owner_shop)
    idea = IdeaFactory(call=call)
    own_idea = IdeaFactory(call=CallFactory(shop=world.seller_shop), author=owner)
    # Her shop shortlisted the idea (a reward is due) and named someone to its collective.
    idea_services.shortlist(owner, idea)
    reward = db.session.scalar(select(IdeaReward).where(IdeaReward.idea_id == idea.id))
    member = UserFactory(handle="mia")
    idea_services.name_member(owner, world.owner_shop, member)
    # The world's people may vote (new accounts may not, by default).
    app.config["IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS"] = 0
    line = carts.add(owner, ProductFactory(shop=world.seller_shop).variants[0].id, 1)
    poll = _open_poll(world)
    db.session.flush()
    world.shared.update(
        {
            **minted,
            "shop_id": world.owner_shop.id,
            "shop_slug": world.owner_shop.slug,
            "draft_product_id": draft.id,
            "pick_id": pick.id,
            "code": pick.share_link.code,
            "collection_id": collection.id,
            "private_collection_id": private.id,
            "comment_id": comment.id,
            "token_id": token.id,
            "session_id": login_session.id,
            "report_id": report.id,
            **talk,
            "message_report_id": reported.id,
            "call_id": call.id,
            "idea_id": idea.id,
            "own_idea_id": own_idea.id,
            "reward_id": reward.id,
            "user_id": member.id,
            "seller_shop_slug": world.seller_shop.slug,
            "seller_shop_id": world.seller_shop.id,
            "coupon_id": CouponFactory(shop_id=world.owner_shop.id, code="OLIVIA10").id,
            "seller_call_id": own_idea.call_id,
            "line_id": line.id,
            "handle": owner.handle,
            "media_key": listed.images[0].image_key,
            "poll_id": poll.id,
            "poll_option_id": poll.options[0].id,
        }
    )
    _commit()

    # Mallory's own things, for requests that name hers and the owner's together.
    other_shop = ShopFactory(owner=other, name="Mallory's", slug="mallorys")
    mine = ProductFactory(shop=other_shop)
    product_services.add_images(other, mine, [product_services.ImageUpload(png())])
    other_collection = CollectionFactory(owner=other, products=[mine])
    others_talk, _first = message_services.start(other, world.seller_shop, Draft("Hello"))
    _commit()
    world.others = {
        "product_id": mine.id,
        "variant_id": mine.variants[0].id,
        "image_id": mine.images[0].id,
        "collection_id": other_collection.id,
        "shop_id": other_shop.id,
        "coupon_id": CouponFactory(shop_id=other_shop.id, code="MALLORY10").id,
        "handle": other.handle,
        "conversation_id": others_talk.id,
    }
    return world
