"""Who may do what: every route and API operation of the URL map, for anonymous, another user,
the owner and an admin, with the answer each should get.

Every URL parameter that names an object is filled with the owner's object (her shop, product,
picture, order, pick, collection, comment, token, cart line…), so another user tries the
owner's ids everywhere; where a URL names two objects, she also tries her own first id with
the owner's second (her product, the owner's picture). Requests that change state are sent
with a valid body, so a refusal comes from the access check, not from a missing field.
Besides each answer's class, the tests prove that nothing another user or a visitor sent
changed any of the owner's rows.

A route without an expectation fails `test_every_route_has_an_expectation`, which prints the
line to add. Adding a route is one line in EXPECTATIONS (or none, when a blueprint's glob
already covers it); a request body, if the route needs one, is one line in BODIES; a new kind
of object in URLs is one line in PARAMS and its making in tests/security/world.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import current_app
from werkzeug.routing import Rule

from tests.security.access import (
    ADMIN,
    GUEST_OWNER,
    NOBODY,
    OWN_ONLY,
    OWN_OR_MOD_ONLY,
    OWNER,
    OWNER_OR_MOD,
    PUBLIC,
    SIGNED_IN,
    Body,
    Expect,
    Fixed,
    Param,
    Sender,
    expectation_for,
    fill,
    judge,
    missing,
)
from tests.security.urlmap import UNSAFE, operations
from tests.security.world import World, build_world, changes, png

SOLD = {"order_id": "sold_order_id"}  # the seller's side of an order: one the owner sold
OWN_IDEA = {"idea_id": "own_idea_id"}  # the author's side of an idea: one the owner wrote
SOLD_RETURN = {"return_id": "sold_return_id"}  # a return asked of the owner's shop
ESCALATED = {"return_id": "escalated_return_id"}  # one of those, taken to the moderators

# fmt: off
EXPECTATIONS: list[Expect] = [
    # --- site, accounts, API docs
    Expect("core.* health.readyz media.file static *.static api-docs.* api_docs.*", "GET",
           PUBLIC),
    Expect("auth.login auth.signup auth.forgot_password auth.logout", "*", PUBLIC),
    # The footer's language switcher: anyone picks a language (a signed-in person's is saved).
    Expect("core.set_language", "POST", PUBLIC),
    # The code step of a two-step log-in: without a right password first, back to log in.
    Expect("auth.two_step_login", "*", PUBLIC.but(anon="login")),
    Expect("auth.reset_password", "*", NOBODY),  # a made-up token
    Expect("profiles.show accounts_api.UserProfile", "GET", PUBLIC),
    Expect("account.* accounts_api.Me accounts_api.Tokens accounts_api.TokenItem "
           "accounts_api.LoginSessions accounts_api.LoginSessionItem", "*", OWNER),
    # --- catalogue: shoppers read, sellers change their own
    Expect("catalogue.*", "GET", PUBLIC),
    Expect("catalogue_api.Categories catalogue_api.Images catalogue_api.ProductItem "
           "catalogue_api.Products catalogue_api.Search catalogue_api.Shops catalogue_api.ShopItem "
           "catalogue_api.ShopProducts catalogue_api.Variants", "GET", PUBLIC),
    Expect("catalogue_api.*", "*", OWNER),
    # Your shop: the admin has none (404 by API; pages send to "open a shop").
    Expect("catalogue_api.MyShop catalogue_api.MyProducts catalogue_api.Products "
           "seller.pause_shop seller.reopen_shop", "*", OWNER.but(admin="any")),
    Expect("seller.*", "*", OWNER),
    # --- buying and selling
    Expect("shopping.cart shopping.add_to_cart shopping.accept_prices", "*", PUBLIC),
    # "Add to cart" on a collection: counts the click and sends the form on to the cart.
    Expect("social.collection_add_to_cart", "POST", PUBLIC),
    Expect("shopping.update_line shopping.remove_line", "*", GUEST_OWNER),
    Expect("shopping.checkout shopping.checkout_* shopping.cancel_checkout shopping.my_order* "
           "shopping.confirm_delivery shopping.review", "*", OWNER),
    Expect("seller_orders.*", "*", OWNER, ids=SOLD),
    Expect("commerce_api.CartResource commerce_api.CartLines commerce_api.CartLineItem "
           "commerce_api.Checkouts commerce_api.CheckoutItem commerce_api.MyOrders "
           "commerce_api.MyOrder commerce_api.ConfirmDelivery commerce_api.Reviews", "*", OWNER),
    Expect("commerce_api.ShopOrders", "GET", OWNER.but(admin="any")),
    # Returns: the buyer asks, withdraws, escalates; the seller answers; moderators decide.
    Expect("returns.ask returns.withdraw returns.escalate returns_api.OrderReturnsResource "
           "returns_api.ReturnItem returns_api.ReturnPhotos returns_api.Withdraw "
           "returns_api.Escalate", "*", OWNER),
    Expect("shop_returns.list_returns", "GET", OWNER),
    Expect("returns_api.ShopReturns", "GET", OWNER.but(admin="any")),
    Expect("shop_returns.accept shop_returns.refuse shop_returns.receive returns_api.Accept "
           "returns_api.Refuse returns_api.Receive", "*", OWNER, ids=SOLD_RETURN),
    Expect("returns_admin.* returns_api.EscalatedReturns returns_api.Decide", "*", ADMIN,
           ids=ESCALATED),
    Expect("commerce_api.Ship commerce_api.Deliver commerce_api.Cancel commerce_api.Refunds",
           "*", OWNER, ids=SOLD),
    # --- a shop's deals: a code in one's cart (guests have carts too); a shop's coupons
    Expect("deals.apply_coupon deals.remove_coupon", "POST", PUBLIC),
    # The code is for Sam's shop, whose item is in the owner's cart; others have none: 404.
    Expect("deals_api.CartCoupon", "*", SIGNED_IN.but(other="any", admin="any"),
           ids={"shop_id": "seller_shop_id"}),
    # Your shop's deals: the admin has none (404 by API; the page sends to "open a shop").
    Expect("deals.seller_page deals.set_bundle deals.new_coupon deals_api.Bundle "
           "deals_api.Coupons", "*", OWNER.but(admin="any")),
    Expect("deals.coupon_status deals.coupon_uses deals_api.CouponItem deals_api.CouponUses",
           "*", OWNER),
    # --- social
    Expect("social.pick social.collection social.people social.person_* social.visit "
           "social_api.People social_api.PersonPicks social_api.PersonCollections "
           "social_api.PickItem social_api.CollectionResource social_api.Comments",
           "GET", PUBLIC),
    Expect("social.home_feed social.notifications social.read_notifications social.settings "
           "social.stats social.new_pick social.new_collection social.add_comment social.like "
           "social.follow social.report social.share social_api.Feed social_api.Notifications "
           "social_api.NotificationsRead social_api.Settings social_api.ShareLinks "
           "social_api.Suggestions social_api.Collections social_api.Picks "
           "social_api.Likes social_api.Following social_api.Comments", "*", SIGNED_IN),
    # What one saved: everyone signed in has their own (never the owner's).
    Expect("saved.page saved_api.Saved", "GET", SIGNED_IN),
    # Anyone signed in reports what others posted; one's own is refused (edit or remove it).
    Expect("social_api.Reports", "*", SIGNED_IN.but(owner="refused")),
    # The collection is named in the form: another user's is refused.
    Expect("social.add_to_collection", "POST", OWNER.but(other="deny", admin="deny")),
    Expect("social.edit_pick social.edit_collection social.item_note "
           "social.move_item social.remove_item social.edit_comment social_api.PickItem "
           "social_api.PickPhoto social_api.CollectionResource social_api.CollectionCover "
           "social_api.CollectionItems social_api.CollectionItemResource "
           "social_api.CollectionOrder social_api.CommentResource", "*", OWNER),
    # Moderators (admins) may take down what others posted.
    Expect("social.delete_pick social.delete_collection social.remove_comment social.share_link",
           "*", OWNER_OR_MOD),
    Expect("social_api.CommentResource social_api.PickItem social_api.CollectionResource",
           "DELETE", OWNER_OR_MOD),
    Expect("social.admin_reports social.moderate social.dismiss_report", "*", ADMIN),
    # --- messages: one's own inboxes; a conversation is its two sides' alone (a moderator
    # included: 404), who sees a reported message through its report only.
    Expect("messages.inbox messages.shop_inbox messages_api.Conversations", "*", SIGNED_IN),
    Expect("messages.block", "*", OWNER, ids={"action": Fixed("block")}),
    Expect("messages.conversation messages.picture messages.report "
           "messages_api.ConversationItem messages_api.ConversationMessages "
           "messages_api.ConversationRead messages_api.ConversationBlock "
           "messages_api.MessageReport", "*", OWNER),
    # Anyone signed in writes to a shop; its owner is refused (not to her own shop).
    Expect("messages.contact messages_api.Conversations", "POST", SIGNED_IN.but(owner="refused")),
    Expect("messages.contact", "GET", SIGNED_IN.but(owner="refused")),
    Expect("messages.reported", "GET", ADMIN, ids={"report_id": "message_report_id"}),
    # --- co-creation: anyone reads; signed-in people submit and vote; the author changes her
    # idea; the shop reviews ideas given to it, runs its calls, terms and collective.
    Expect("ideas.index ideas.board ideas.call ideas.show ideas_api.Ideas ideas_api.IdeaItem "
           "ideas_api.CallItem ideas_api.Calls ideas_api.Terms", "GET", PUBLIC),
    Expect("ideas.mine ideas.submit ideas_api.ShopIdeas ideas_api.Rewards payouts.reward_paid",
           "*", SIGNED_IN),
    # The shop cannot vote for ideas given to it: refused, not an access matter.
    Expect("ideas.vote ideas.unvote ideas_api.IdeaVote", "*", SIGNED_IN.but(owner="any")),
    Expect("ideas.edit ideas.withdraw ideas_api.IdeaWithdraw ideas_api.IdeaImages", "*", OWNER,
           ids=OWN_IDEA),
    Expect("ideas_api.IdeaItem", "PATCH", OWNER, ids=OWN_IDEA),
    Expect("ideas.shortlist ideas.decline ideas.adopt ideas.edit_call ideas.close_call "
           "ideas_api.IdeaShortlist ideas_api.IdeaDecline ideas_api.IdeaAdopt ideas_api.CallClose "
           "ideas_api.Collective ideas_api.CollectiveMember payouts.pay_reward "
           "payouts_api.PayReward", "*", OWNER),
    Expect("ideas_api.CallItem ideas_api.Calls ideas_api.Terms", "UNSAFE", OWNER),
    # Your shop's co-creation page: the admin has none (404).
    Expect("ideas.manage ideas.new_call ideas.add_member ideas.remove_member", "*",
           OWNER.but(admin="any")),
    # --- polls: anyone reads; signed-in people vote (the shop may not: refused); the shop
    # closes or deletes its own, and has its own polls page (the admin has no shop: 404).
    Expect("polls.show polls.of_shop polls_api.PollItem polls_api.ShopPolls", "GET", PUBLIC),
    Expect("polls.vote polls_api.PollVote", "*", SIGNED_IN.but(owner="any")),
    Expect("polls.close polls.delete polls_api.PollClose", "*", OWNER),
    Expect("polls.manage polls.new", "*", OWNER.but(admin="any")),
    # --- payouts
    Expect("payouts.setup payouts.start payouts.returned payouts.earnings payouts.earnings_csv",
           "*", OWNER),
    # Opening the Express dashboard needs a connected account: 404 until one is set up.
    Expect("payouts.express_dashboard", "POST", OWNER.but(other="any", owner="any", admin="any")),
    Expect("money_api.Earnings money_api.EarningsExport money_api.Payouts "
           "money_api.PayoutAccount", "*", OWNER),
    # Changing where money goes needs two-step sign-in, which no one here has turned on: 403
    # (with it, tests/app/test_token_scopes.py and tests/payouts/test_money_api.py).
    Expect("money_api.PayoutOnboarding", "POST", OWNER.but(other="deny", owner="deny",
                                                           admin="deny")),
    Expect("money_api.PayoutDashboard", "POST", OWNER.but(other="any", owner="any", admin="any")),
    Expect("payouts_admin.*", "*", ADMIN),
    Expect("stripe_webhooks.receive", "POST", NOBODY),  # unsigned
]

# Checked besides the rows above: what is not public must not show through a public route.
VISIBILITY: list[Expect] = [
    Expect("catalogue.product catalogue.product_reviews catalogue_api.ProductItem "
           "catalogue_api.Variants catalogue_api.Images", "GET", OWN_ONLY,
           ids={"product_id": "draft_product_id"}),
    Expect("social.collection social_api.CollectionResource", "GET", OWN_OR_MOD_ONLY,
           ids={"collection_id": "private_collection_id"}),
    Expect("commerce_api.MyOrder", "GET", OWNER, ids=SOLD),  # the seller sees it too
]
# fmt: on


def _slug(rule: Rule, _values: dict[str, Any]) -> str:
    return "product_slug" if "product_id" in rule.arguments else "shop_slug"


def _target(_rule: Rule, values: dict[str, Any]) -> str:
    kind = str(values.get("target_type") or values.get("kind")).rstrip("s")
    return f"{kind}_id"


def _path_key(rule: Rule, _values: dict[str, Any]) -> str | Fixed:
    return "media_key" if rule.endpoint == "media.file" else Fixed("home")


def _filename(rule: Rule, _values: dict[str, Any]) -> Fixed:
    if rule.endpoint == "api_docs.api_docs_asset":
        return Fixed("index.css")
    blueprint = rule.endpoint.rpartition(".")[0]
    static = current_app.blueprints[blueprint] if blueprint else current_app
    assert static.static_folder, rule.endpoint
    from pathlib import Path

    found = sorted(p for p in Path(static.static_folder).rglob("*") if p.is_file())
    return Fixed(found[0].relative_to(static.static_folder).as_posix())


# URL parameter -> the key of the person's objects that fills it (by default, the same name).
PARAMS: dict[str, Param] = {
    "slug": _slug,
    "key": _path_key,
    "filename": _filename,
    "target_id": _target,
    "token": Fixed("not-a-reset-token"),
    "action": Fixed("hide"),
    "size": Fixed("thumb"),
}
# The objects keys that are the owner's own (the rest, like her handle, are public names).
OWNED = {
    "product_id",
    "draft_product_id",
    "image_id",
    "variant_id",
    "shop_id",
    "pick_id",
    "code",
    "collection_id",
    "private_collection_id",
    "comment_id",
    "token_id",
    "session_id",
    "report_id",
    "line_id",
    "public_id",
    "order_id",
    "sold_order_id",
    "call_id",
    "idea_id",
    "own_idea_id",
    "return_id",
    "sold_return_id",
    "escalated_return_id",
    "reward_id",
    "coupon_id",
    "poll_id",
    "conversation_id",
    "message_id",
    "picture_id",
    "message_report_id",
}


def _pick(o: Mapping[str, Any]) -> dict[str, Any]:
    return {"target_type": "pick", "target_id": o["pick_id"]}


# "endpoint METHOD" -> a valid body (form fields, JSON, or files as bytes) built from the
# objects the URL names, so the access check is what answers.
BODIES: dict[str, Body] = {
    "core.set_language POST": lambda o: {"locale": "fr", "next": "/"},
    "shopping.add_to_cart POST": lambda o: {"variant_id": o["variant_id"], "quantity": 1},
    "social.collection_add_to_cart POST": lambda o: {
        "product_id": o["product_id"],
        "variant_id": o["variant_id"],
    },
    "shopping.update_line POST": lambda o: {"quantity": 1},
    "shopping.review POST": lambda o: {"order_line_id": o["order_line_id"], "rating": 5},
    "seller_orders.ship POST": lambda o: {"carrier": "La Poste", "tracking_number": "LP1"},
    "returns.ask POST": lambda o: {f"qty-{o['order_line_id']}": "1", "reason": "damaged"},
    "returns.escalate POST": lambda o: {"note": "Please look."},
    "shop_returns.accept POST": lambda o: {"instructions": "Post it back."},
    "shop_returns.refuse POST": lambda o: {"reason": "Used."},
    "shop_returns.receive POST": lambda o: {"restock": "y"},
    "returns_admin.decide POST": lambda o: {"decision": "accept"},
    "returns_api.OrderReturnsResource POST": lambda o: {
        "lines": [{"order_line_id": o["order_line_id"], "quantity": 1}],
        "reason": "damaged",
    },
    "returns_api.ReturnPhotos POST": lambda o: {"photos": png()},
    "returns_api.Accept POST": lambda o: {"instructions": "Post it back."},
    "returns_api.Refuse POST": lambda o: {"reason": "Used."},
    "returns_api.Decide POST": lambda o: {"decision": "accept"},
    "payouts_admin.book_held_refund POST": lambda o: {"order_id": o["sold_order_id"]},
    "payouts_admin.absorb_held_refund POST": lambda o: {"note": "goodwill"},
    "seller.quick_edit POST": lambda o: {"status": "active"},
    "deals.apply_coupon POST": lambda o: {"shop_id": o["seller_shop_id"], "code": "NOPE"},
    "deals.remove_coupon POST": lambda o: {"shop_id": o["seller_shop_id"]},
    "deals.set_bundle POST": lambda o: {"bundle-min_items": "2", "bundle-percent": "10"},
    "deals.new_coupon POST": lambda o: {"code": "SPRING", "kind": "percent", "percent": "10"},
    "deals.coupon_status POST": lambda o: {"status": "paused"},
    "deals_api.CartCoupon PUT": lambda o: {"code": "NOPE"},
    "deals_api.Bundle PUT": lambda o: {"min_items": 2, "percent_bps": 1000},
    "deals_api.Coupons POST": lambda o: {"code": "SPRING", "kind": "percent", "percent_bps": 1000},
    "deals_api.CouponItem PATCH": lambda o: {"status": "paused"},
    "seller.image_alt POST": lambda o: {"alt_text": "A bowl"},
    "seller.move_image POST": lambda o: {"direction": "down"},
    "social.new_pick GET": lambda o: {"product_id": o["product_id"]},
    "social.new_pick POST": lambda o: {"product_id": o["product_id"], "note": "Nice."},
    "social.add_comment POST": lambda o: {**_pick(o), "body": "Nice."},
    "social.add_to_collection POST": lambda o: {
        "collection_id": o["collection_id"],
        "product_id": o["product_id"],
    },
    "social.item_note POST": lambda o: {"note": "Nice."},
    "social.report POST": lambda o: {**_pick(o), "reason": "spam"},
    "social.share POST": _pick,
    "social.moderate POST": _pick,
    "accounts_api.Me PATCH": lambda o: {"bio": "Hello"},
    "accounts_api.Tokens POST": lambda o: {"name": "script"},
    "catalogue_api.ImageItem PATCH": lambda o: {"alt_text": "A bowl"},
    "catalogue_api.ImageOrder PUT": lambda o: {"image_ids": [o["image_id"]]},
    "catalogue_api.Images POST": lambda o: {"images": png()},
    "catalogue_api.ProductItem PATCH": lambda o: {"title": "Renamed"},
    "catalogue_api.Products POST": lambda o: {
        "title": "A vase",
        "category": "home/ceramics",
        "variants": [{"price_minor": 1500, "stock": 1}],
    },
    "catalogue_api.ShopItem PATCH": lambda o: {"name": "Renamed"},
    "catalogue_api.ShopPicture PUT": lambda o: {"image": png()},
    "catalogue_api.Shops POST": lambda o: {"name": "Another shop"},
    "catalogue_api.VariantItem PATCH": lambda o: {"price_minor": 1234},
    "catalogue_api.Variants POST": lambda o: {"price_minor": 1500, "stock": 1, "option1": "XL"},
    "commerce_api.CartLines POST": lambda o: {"variant_id": o["variant_id"], "quantity": 1},
    "commerce_api.CartLineItem PATCH": lambda o: {"quantity": 1},
    "commerce_api.Reviews POST": lambda o: {"order_line_id": o["order_line_id"], "rating": 5},
    "commerce_api.Ship POST": lambda o: {"carrier": "La Poste"},
    "commerce_api.Refunds POST": lambda o: {"shipping_minor": 100},
    "social_api.CollectionCover PUT": lambda o: {"image": png()},
    "social_api.CollectionItemResource PATCH": lambda o: {"note": "Nice."},
    "social_api.CollectionItems POST": lambda o: {"product_id": o["product_id"]},
    "social_api.CollectionOrder PUT": lambda o: {"product_ids": [o["product_id"]]},
    "social_api.CollectionResource PATCH": lambda o: {"title": "Renamed"},
    "social_api.Collections POST": lambda o: {"title": "Mine"},
    "social_api.CommentResource PATCH": lambda o: {"body": "Edited."},
    "social_api.Comments POST": lambda o: {"body": "Nice."},
    "social_api.PickItem PATCH": lambda o: {"note": "Edited."},
    "social_api.PickPhoto PUT": lambda o: {"image": png()},
    "social_api.Picks POST": lambda o: {"product_id": o["product_id"], "note": "Nice."},
    "social_api.Reports POST": lambda o: {**_pick(o), "reason": "spam"},
    "social_api.ShareLinks POST": _pick,
    "ideas.submit POST": lambda o: {"title": "An idea", "description": "Details."},
    "ideas.edit POST": lambda o: {"title": "Edited idea", "description": "More."},
    "ideas.decline POST": lambda o: {"reason": "Not for us."},
    "ideas.adopt POST": lambda o: {
        "mode": "new",
        "price": "10.00",
        "stock": "1",
        "category": "home/ceramics",
    },
    "ideas.manage POST": lambda o: {"accepts_ideas": "y"},
    "ideas.new_call POST": lambda o: {"title": "A call"},
    "ideas.edit_call POST": lambda o: {"title": "Renamed"},
    "ideas.add_member POST": lambda o: {"handle": "mallory", "weight": "1"},
    "ideas_api.ShopIdeas POST": lambda o: {"title": "An idea", "description": "Details."},
    "polls.vote POST": lambda o: {"option_id": o["poll_option_id"]},
    "polls_api.PollVote POST": lambda o: {"option_id": o["poll_option_id"]},
    "polls.new POST": lambda o: {"question": "Which one?", "opens_on": "2026-12-08"},
    "ideas_api.IdeaItem PATCH": lambda o: {"title": "Edited idea", "description": "More."},
    "ideas_api.IdeaImages POST": lambda o: {"image": png()},
    "ideas_api.IdeaDecline POST": lambda o: {"reason": "Not for us."},
    "ideas_api.IdeaAdopt POST": lambda o: {"price_minor": 1000, "category": "home/ceramics"},
    "ideas_api.Calls POST": lambda o: {"title": "A call"},
    "ideas_api.CallItem PUT": lambda o: {"title": "Renamed"},
    "ideas_api.Terms PUT": lambda o: {"accepts_ideas": True},
    "ideas_api.CollectiveMember PUT": lambda o: {"weight": 1},
    "messages.contact GET": lambda o: {"product_id": o["product_id"]},
    "messages.contact POST": lambda o: {"product_id": o["product_id"], "body": "Hello"},
    "messages.conversation POST": lambda o: {"body": "Hello"},
    "messages.report POST": lambda o: {"reason": "spam"},
    "messages_api.Conversations POST": lambda o: {"shop_id": o["shop_id"], "body": "Hello"},
    "messages_api.ConversationMessages POST": lambda o: {"body": "Hello"},
    "messages_api.ConversationRead POST": lambda o: {},
    "messages_api.MessageReport POST": lambda o: {"reason": "spam"},
}


# --- the sweep ---------------------------------------------------------------------------------


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def _checks(app) -> list[tuple[Rule, str, Expect]]:
    """(rule, method, expectation) for every operation with one, then the visibility rows."""
    found = []
    for rule, method in operations(app):
        row = expectation_for(EXPECTATIONS, rule.endpoint, method)
        if row is not None:
            found.append((rule, method, row))
    for rule, method in operations(app):
        found.extend(
            (rule, method, row) for row in VISIBILITY if row.matches(rule.endpoint, method)
        )
    return found


def sweep(
    world: World,
    role: str,
    *,
    unsafe: bool,
    fresh: bool = False,
    on_answer: Callable[[str, Any], None] | None = None,
) -> tuple[int, list[str]]:
    """Send every operation (safe ones, or the changes) as `role`; the failures, readable.
    `on_answer(url, response)` sees every answer, for checks of its own."""
    sender = Sender(world.client(role))
    failures: list[str] = []
    sent = 0
    for rule, method, row in _checks(world.app):
        if (method in UNSAFE) != unsafe:
            continue
        attempts = [None]
        if role == "other":
            attempts.append(world.objects("mine"))  # her own first id, the owner's others
        for mine in attempts:
            objects = world.objects(fresh=fresh)
            try:
                filled = fill(rule, objects, PARAMS, row.ids, OWNED, mine)
            except LookupError as error:
                failures.append(str(error))
                continue
            if filled is None:
                continue
            expected = row.policy.for_role(role)
            if expected == "mine":
                expected = "deny" if filled.owned else "ok"
            if mine is not None:
                # Her own product with the owner's picture: any refusal will do (a form
                # error saying "no such picture"), as long as nothing of the owner's changes.
                expected = "refused"
            make_body = BODIES.get(f"{rule.endpoint} {method}")
            body = make_body(objects) if make_body else None
            response = sender.send(method, filled.url, body)
            error_flash = sender.take_error_flash()
            sent += 1
            if on_answer is not None:
                on_answer(filled.url, response)
            if not judge(expected, method, filled.url, response, error_flash):
                where = response.headers.get("Location", "")
                failures.append(
                    f"{role:5} {method:6} {filled.url} -> {response.status_code}"
                    f"{' ' + where if where else ''}{' (error flashed)' if error_flash else ''}, "
                    f"expected {expected} [{rule.endpoint}, {row.policy.name}]"
                )
            if method in UNSAFE:
                world.restore(role)
    return sent, failures


def _report(failures: list[str]) -> str:
    return f"{len(failures)} answers not as expected:\n" + "\n".join(failures)


def test_every_route_has_an_expectation(app):
    """A new route fails here until EXPECTATIONS says who may use it."""
    absent = missing(app, EXPECTATIONS)
    lines = [
        f'    Expect("{endpoint}", "{method}", ...),  # {path}' for endpoint, method, path in absent
    ]
    assert not absent, "routes with no expectation; add to EXPECTATIONS:\n" + "\n".join(lines)
    every = {row.endpoints for row in EXPECTATIONS + VISIBILITY}
    used = {row.endpoints for _rule, _method, row in _checks(app)}
    assert every <= used, f"rows that match no route: {sorted(every - used)}"


def test_anonymous_visitors_are_sent_to_log_in_and_change_nothing(world):
    before = world.fingerprint()
    sent_safe, failures = sweep(world, "anon", unsafe=False)
    sent_unsafe, more = sweep(world, "anon", unsafe=True)
    failures += more
    failures += [f"anon changed {c}" for c in changes(before, world.fingerprint())]
    assert not failures, _report(failures)
    assert sent_safe > 60 and sent_unsafe > 80


def test_another_user_cannot_see_or_touch_the_owners_things(world):
    before = world.fingerprint()
    _sent, failures = sweep(world, "other", unsafe=False)
    failures += sweep(world, "other", unsafe=True)[1]
    failures += [f"other changed {c}" for c in changes(before, world.fingerprint())]
    assert not failures, _report(failures)


def test_the_owner_can_use_everything_of_hers(world):
    failures = sweep(world, "owner", unsafe=False)[1]
    failures += sweep(world, "owner", unsafe=True, fresh=True)[1]
    assert not failures, _report(failures)


def test_an_admin_moderates_but_does_not_own(world):
    failures = sweep(world, "admin", unsafe=False)[1]
    failures += sweep(world, "admin", unsafe=True, fresh=True)[1]
    assert not failures, _report(failures)


# --- the pages' markup -------------------------------------------------------------------------


class _Ids(HTMLParser):
    """The ids of a page, the targets of its labels, and its form fields without a label."""

    FIELDS = {"input", "select", "textarea"}
    UNLABELLED_TYPES = {"hidden", "submit", "button", "image", "reset"}

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_targets: list[str] = []
        self.fields: list[tuple[str, str]] = []  # (id, name)
        self.labelled: set[str] = set()
        self._in_label = 0
        self.headings: list[int] = []
        self.images_without_alt: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.headings.append(int(tag[1]))
        if tag == "img" and "alt" not in values:
            self.images_without_alt.append(values.get("src", "?"))
        if "id" in values:
            self.ids.append(values["id"])
        if tag == "label":
            self._in_label += 1
            if values.get("for"):
                self.label_targets.append(values["for"])
        if tag in self.FIELDS and values.get("type", "") not in self.UNLABELLED_TYPES:
            if self._in_label or "aria-label" in values or "aria-labelledby" in values:
                self.labelled.add(values.get("id") or values.get("name", ""))
            self.fields.append((values.get("id", ""), values.get("name", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._in_label:
            self._in_label -= 1


def markup_problems(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    problems = []
    seen: set[str] = set()
    for id_ in parser.ids:
        if id_ in seen:
            problems.append(f"id {id_!r} is used twice")
        seen.add(id_)
    for target in parser.label_targets:
        if target not in seen:
            problems.append(f"a label points to {target!r}, which no element has")
    targets = set(parser.label_targets) | parser.labelled
    for id_, name in parser.fields:
        if (id_ or name) not in targets:
            problems.append(f"the field {name or id_!r} has no label")
    if parser.headings.count(1) != 1:
        problems.append(f"{parser.headings.count(1)} h1 headings, not one")
    for before, level in zip(parser.headings, parser.headings[1:], strict=False):
        if level > before + 1:
            problems.append(f"an h{level} follows an h{before}")
            break
    problems += [f"the image {src!r} has no alt text" for src in parser.images_without_alt]
    if not parser.lang:
        problems.append("the page does not say its language")
    return problems


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_every_page_is_marked_up_for_assistive_technology(world, role):
    """Every page the owner or an admin can open (with the owner's objects filled in, so the
    forms of a real order, product or shop are on it): ids are unique, which labels and
    screen readers rely on, every label points at something, every field has a label, there
    is one h1 and no heading skips a level, every image has alt text, and the page says its
    language."""
    pages: list[str] = []
    problems: list[str] = []

    def check(url: str, response: Any) -> None:
        if response.status_code == 200 and response.mimetype == "text/html":
            pages.append(url)
            problems.extend(f"{url}: {p}" for p in markup_problems(response.get_data(True)))

    sweep(world, role, unsafe=False, on_answer=check)
    assert len(pages) > 40
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_markup_check_finds_what_it_looks_for():
    good = '<html lang="en"><h1>Title</h1><h2>Part</h2><h3>Detail</h3><h2>Next</h2>'
    assert markup_problems(good + '<img src="x.png" alt="">') == []
    html = (
        '<html><h1>A</h1><h1>B</h1><h3>Skipped a level</h3><img src="x.png">'
        '<label for="a">A</label><input id="a" name="a">'
        '<label for="b">B</label><textarea id="b" name="b"></textarea><p id="a"></p>'
        '<label for="gone">?</label><input name="loose"><input type="hidden" name="t">'
        '<label>Wrapped <input name="w"></label><input name="q" aria-label="Search">'
    )
    assert markup_problems(html) == [
        "id 'a' is used twice",
        "a label points to 'gone', which no element has",
        "the field 'loose' has no label",
        "2 h1 headings, not one",
        "an h3 follows an h1",
        "the image 'x.png' has no alt text",
        "the page does not say its language",
    ]
