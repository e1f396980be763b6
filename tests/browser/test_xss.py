"""Stored XSS: hostile text in every field people can write, on every page that shows it.

Each payload, if it ever ran, would set `window.__xss` (one calls alert()). The pages are
opened in Chromium with the Content-Security-Policy bypassed, so an escaping mistake shows up
as running script rather than being saved by the CSP; on each page we check that no dialog
opened, `window.__xss` stays undefined, no element carries an event-handler attribute or a
`javascript:` URL, no script/iframe/style element was injected, and no template expression was
evaluated. Each page must also show at least one of the payloads (escaped), so a page that
stopped rendering people's text cannot pass by accident.

Most payloads are written through the services (fast, and past the forms' own checks);
`test_payloads_typed_into_the_forms` types them into the real forms.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.accounts import services as accounts
from app.extensions import db
from app.uow import unit_of_work
from marketplace import products, shops
from marketplace.order_models import Order
from social import follows, ideas, moderation, posts, reactions, share_links
from social.messages import conversations as message_services
from social.messages import reporting as message_reporting
from social.models import Target
from tests.browser import two_step
from tests.browser.conftest import LAPTOP, png
from tests.conftest import login
from tests.factories import UserFactory
from tests.marketplace.shopping import add, pay_on_hosted_page, start_checkout

# Each sets window.__xss if it runs. Short ones fit short fields (an option name is 40
# characters at most); long fields get them all.
PAYLOADS = [
    "<script>__xss=1</script>",
    "<img src=x onerror=__xss=1>",
    "<svg onload=__xss=1>",
    '"><svg onload=__xss=1>',
    "'><svg onload=__xss=1>",
    "</textarea><svg onload=__xss=1>",
    "</title><svg onload=__xss=1>",
    "</script><svg onload=__xss=1>",
    "</option><svg onload=__xss=1>",
    '" autofocus onfocus=__xss=1 x="',
    "' autofocus onfocus=__xss=1 x='",
    "<details open ontoggle=__xss=1>",
    "<a href=javascript:__xss=1>a</a>",
    "[a](javascript:__xss=1)",
    "[b](JaVaScRiPt:__xss=1)",
    "<javascript:__xss=1>",
    "[c](java&#x73;cript:__xss=1)",
    "<img src=x onerror=alert(1)>",
    "<style>html{--xss:1}</style>",
    # Social texts are stored without tags but with entities decoded: these come out as tags.
    "&lt;svg onload=__xss=1&gt;",
    "&#60;img src=x onerror=__xss=1&#62;",
    "T{{7*7}}T",
    "T{%print(7*7)%}T",
    "T${7*7}T",
    # Last: an unclosed iframe would swallow whatever follows it as its raw text.
    '<iframe srcdoc="<svg onload=parent.__xss=1>">',
]
# What a rendered template expression would leave on the page.
EVALUATED = ("T49T",)
# Markdown-only shapes, for the fields rendered from Markdown.
MARKDOWN = "\n\n".join(
    [
        "[d]\n\n[d]: javascript:__xss=1",
        '![e](x" onerror="__xss=1)',
        '[f](x" onmouseover="__xss=1)',
        "<div onmouseover=__xss=1>g</div>",
    ]
)
CORPUS = "\n\n".join(PAYLOADS)

# Runs in the page after it loaded: everything that would betray an injection.
SCAN = """() => {
  const found = [];
  if (window.__xss !== undefined) found.push('window.__xss was set');
  const css = getComputedStyle(document.documentElement);
  if (css.getPropertyValue('--xss')) found.push('CSS injected');
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) found.push(`<${tag} ${name}>`);
      if (name === 'srcdoc') found.push(`<${tag} srcdoc>`);
      if (urlAttrs.includes(name)) {
        const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
        if (/^(javascript|vbscript|data:text\\/html)/.test(value)) {
          found.push(`<${tag} ${name}=${value}>`);
        }
      }
    }
    if (['iframe', 'frame', 'object', 'embed', 'base'].includes(tag)) found.push(`<${tag}>`);
    if (tag === 'style' && document.body.contains(el)) found.push('<style> in the body');
    // A JSON-LD data block never runs; it passes if it is still whole JSON (nothing closed it).
    const data = () => { try { JSON.parse(el.textContent); return true; } catch { return false; } };
    const dataBlock = el.type === 'application/ld+json' && !el.src && data();
    if (tag === 'script' && !dataBlock && !(el.src && new URL(el.src).origin === location.origin)) {
      found.push('<script> not from this site');
    }
    if (tag === 'meta' && (el.httpEquiv || '').toLowerCase() === 'refresh') {
      found.push('<meta refresh>');
    }
  }
  return found;
}"""


def fit(limit: int, start: int, prefix: str = "") -> str:
    """As many whole payloads as fit in `limit` characters, starting at a field's own offset
    (so short fields together cover the whole list)."""
    chosen = prefix
    for i in range(len(PAYLOADS)):
        payload = PAYLOADS[(start + i) % len(PAYLOADS)]
        candidate = f"{chosen} {payload}" if chosen else payload
        if len(candidate) <= limit:
            chosen = candidate
    assert chosen != prefix, f"no payload fits in {limit} characters"
    return chosen


class Inspector:
    """Opens pages in one person's browser and records what betrays an injection."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.dialogs: list[str] = []
        self.problems: dict[str, list[str]] = {}
        self.visited: list[str] = []
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{self.page.url}: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def check(self, path: str, *, shows_payload: bool = True, status: int = 200) -> None:
        url = path if path.startswith("http") else f"{self.base}{path}"
        response = self.page.goto(url)
        self.visited.append(path)
        found = list(self.page.evaluate(SCAN))
        if response is None or response.status != status:
            found.append(f"status {response.status if response else 'none'}")
        html = self.page.content()
        found += [f"evaluated {marker}" for marker in EVALUATED if marker in html]
        if shows_payload and "__xss=1" not in html:
            found.append("shows none of the payloads")
        if found:
            self.problems[path] = found


def scan_here(inspector: Inspector, label: str) -> None:
    """Check the page a form led to (its flash message repeats what was typed)."""
    found = list(inspector.page.evaluate(SCAN))
    if found:
        inspector.problems[label] = found
    inspector.visited.append(label)


def submit(page: Any, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def assert_clean(*inspectors: Inspector) -> None:
    dialogs = [d for i in inspectors for d in i.dialogs]
    problems = {p: f for i in inspectors for p, f in i.problems.items()}
    assert not dialogs, dialogs
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())
    assert all(i.visited for i in inspectors)


# --- a world where every field carries payloads ----------------------------------------------


def build_world(client: Any) -> dict[str, Any]:
    """People, a shop, a product with variants and pictures, picks, collections, comments,
    reports, a token, and an order (shipped, refunded, reviewed): every text a payload."""
    seller = UserFactory(handle="seller", display_name=fit(80, 0), bio=fit(500, 3))
    curator = UserFactory(handle="curator", display_name=fit(80, 5), bio=CORPUS[:500])
    buyer = UserFactory(handle="buyer", display_name=fit(80, 9), bio=fit(500, 11))
    admin = UserFactory(handle="admin", display_name=fit(80, 13), is_admin=True)
    db.session.commit()
    with unit_of_work():
        shop = shops.open_shop(
            seller,
            shops.ShopDetails(
                name=fit(80, 2),
                slug="xss-shop",
                description=f"{CORPUS}\n\n{MARKDOWN}",
                return_policy=f"{MARKDOWN}\n\n{CORPUS}",
                shipping_flat_minor=500,
                curator_commission_bps=1000,
            ),
        )
        product = products.create_product(
            seller,
            shop,
            products.ProductDetails(
                title=fit(140, 4, prefix="Bowl"),
                description=f"{MARKDOWN}\n\n{CORPUS}",
                category="home/ceramics",
                tags=", ".join([p for p in PAYLOADS if len(p) <= 30][:12]),
                condition="new",
                option1_name=fit(40, 6),
                option2_name=fit(40, 7),
            ),
            [
                products.VariantInput(2500, 5, fit(64, 1), fit(40, 8), fit(40, 10)),
                products.VariantInput(4000, 5, fit(64, 12), fit(40, 14), fit(40, 16)),
            ],
            status="active",
            images=[
                products.ImageUpload(png((200, 100, 50)), fit(200, 15)),
                products.ImageUpload(png((50, 100, 200)), fit(200, 18)),
            ],
        )
        product_id = product.id
    with unit_of_work():
        curator = db.session.get(type(curator), curator.id)
        pick = posts.create_pick(curator, product_id, CORPUS[:1000])
        collection = posts.create_collection(curator, fit(80, 17, prefix="Mugs"), CORPUS[:1000])
        posts.add_item(curator, collection, product_id, CORPUS[:500])
        follows.follow(curator, db.session.get(type(seller), seller.id))
        follows.follow(db.session.get(type(buyer), buyer.id), curator)
        for target_type, target_id in ((Target.PICK, pick.id), (Target.COLLECTION, collection.id)):
            comment = reactions.add_comment(seller, target_type, target_id, CORPUS)
            reply = reactions.add_comment(
                db.session.get(type(buyer), buyer.id),
                target_type,
                target_id,
                fit(2000, 20),
                comment.id,
            )
        moderation.report(seller, Target.PICK, pick.id, "other", CORPUS[:1000])
        moderation.suspend(  # a suspended person's profile, and the moderators' list
            db.session.get(type(admin), admin.id),
            UserFactory(handle="troll", display_name=fit(80, 11)),
            CORPUS[:1000],
        )
        # What others wrote: one's own is not reported (it is edited or removed).
        moderation.report(seller, Target.COMMENT, reply.id, "abuse", fit(1000, 2))
        accounts.create_token(db.session.get(type(seller), seller.id), fit(80, 19))
        share = share_links.link_for(curator, Target.PICK, pick.id, product_id)
        collection_share = share_links.link_for(curator, Target.COLLECTION, collection.id, None)
        ids = {
            "pick": pick.id,
            "collection": collection.id,
            "comment": comment.id,
            "share": share.code,
            "collection_share": collection_share.code,
        }
    # Co-creation: terms, a call for ideas, an idea adopted into the product (its author then
    # earns a royalty on the sale below), one declined, one waiting; comments on them.
    with unit_of_work():
        owner = db.session.get(type(seller), seller.id)
        the_shop = shops.shop_of(owner)
        assert the_shop is not None
        ideas.update_terms(owner, the_shop, ideas.TermsChange(accepts_ideas=True, royalty_bps=500))
        call = ideas.open_call(
            owner,
            the_shop,
            ideas.CallInput(
                title=fit(120, 21, prefix="Call"), brief=CORPUS, shortlist_reward_minor=1000
            ),
        )
        author = db.session.get(type(curator), curator.id)
        other = db.session.get(type(buyer), buyer.id)
        adopted = ideas.submit_idea(
            author, the_shop, fit(120, 3, prefix="Idea"), CORPUS, [png()], call=call
        )
        declined = ideas.submit_idea(other, the_shop, fit(120, 8, prefix="Idea"), CORPUS)
        waiting = ideas.submit_idea(other, the_shop, fit(120, 14, prefix="Idea"), CORPUS)
        ideas.decline(owner, declined, CORPUS[:1000])
        ideas.shortlist(owner, adopted)  # a reward falls due, listed with the idea's title
        ideas.adopt(owner, adopted, product_id=product_id)
        for idea in (adopted, declined, waiting):
            reactions.add_comment(owner, Target.IDEA, idea.id, CORPUS)
        ids.update(call=call.id, adopted=adopted.id, declined=declined.id, waiting=waiting.id)
    # The buyer comes through the curator's link and buys: a payload-laden address.
    client.get(f"/s/{ids['share']}")
    login(client, buyer)
    assert add(client, db.session.get(products.Product, product_id)).status_code == 302
    address = {
        "name": fit(120, 0),
        "line1": fit(200, 3),
        "line2": fit(200, 6),
        "city": fit(120, 9),
        "postal_code": "<svg onload=__xss=1>"[:20],
        "region": fit(120, 12),
        "country": "FR",
        "phone": fit(40, 2),
    }
    started = start_checkout(client, address)
    assert started.status_code == 303, started.get_data(as_text=True)[-3000:]
    pay_on_hosted_page(client, started.headers["Location"])
    db.session.commit()
    order = db.session.scalar(select(Order))
    assert order is not None, "the order was not created"
    line_id = order.lines[0].id
    login(client, seller)
    shipped = client.post_form(
        f"/account/shop/orders/{order.id}/ship",
        {"carrier": fit(60, 4), "tracking_number": fit(100, 7)},
    )
    assert shipped.status_code == 302, shipped.status_code
    refunded = client.post_form(
        f"/account/shop/orders/{order.id}/refund",
        {f"line-{line_id}": "1.00", "reason": fit(500, 10)},
    )
    assert refunded.status_code == 302, refunded.status_code
    login(client, buyer)
    client.post_form(f"/orders/{order.id}/confirm-delivery")
    reviewed = client.post_form(
        f"/orders/{order.id}/review",
        {"order_line_id": line_id, "rating": "4", "body": CORPUS[:2000]},
    )
    assert reviewed.status_code == 302
    # Something in the cart again, and a checkout started: the cart, checkout and the
    # hosted payment page show the product's texts.
    assert add(client, db.session.get(products.Product, product_id)).status_code == 302
    again = start_checkout(client, address)
    assert again.status_code == 303
    db.session.commit()
    # A conversation about the order: the buyer's question and the seller's answer, both
    # payloads, one of them reported (what the moderator's view of it shows).
    with unit_of_work():
        shop_row = db.session.get(products.Product, product_id).shop
        talk, _first = message_services.start(
            buyer, shop_row, message_services.Draft(fit(2000, 1), [png()]), order_id=order.id
        )
        answer = message_services.send(seller, talk, message_services.Draft(fit(2000, 8)))
        flagged = message_reporting.report(buyer, talk, answer.id, "abuse", fit(1000, 4))
        talk_id, flagged_id = talk.id, flagged.id
    return {
        "seller": seller,
        "curator": curator,
        "buyer": buyer,
        "admin": admin,
        "product": product_id,
        "order": order.id,
        "hosted_page": again.headers["Location"],
        "conversation": talk_id,
        "message_report": flagged_id,
        **ids,
    }


@pytest.mark.parametrize("viewport", [LAPTOP], ids=["laptop"])
def test_payloads_in_every_field_never_run(app, client, live_server, open_as):
    world = build_world(client)
    product, pick, collection = world["product"], world["pick"], world["collection"]
    order = world["order"]

    guest = Inspector(open_as(None, bypass_csp=True), live_server)
    for path in [
        "/",
        "/new",
        "/trending",
        "/categories/home",
        "/categories/home/ceramics",
        "/search?q=bowl",
        "/search?q=%3Csvg+onload%3D__xss%3D1%3E",  # reflected, for good measure
        "/shops/xss-shop",
        f"/products/{product}",
        "/@seller",
        "/@curator",
        "/@curator/picks",
        "/@curator/collections",
        "/@curator/followers",
        "/@seller/followers",
        f"/picks/{pick}",
        f"/collections/{collection}",
    ]:
        guest.check(path)
    for path in [
        "/ideas",
        "/shops/xss-shop/ideas",
        f"/ideas/calls/{world['call']}",
        f"/ideas/{world['adopted']}",
        f"/ideas/{world['declined']}",
        f"/ideas/{world['waiting']}",
    ]:
        guest.check(path)
    guest.check("/dev/outbox")  # the mail sent about follows, comments, orders
    # Not found, with the payload in the address: nothing of it runs on the error page.
    guest.check("/@%3Csvg%20onload%3D__xss%3D1%3E", status=404, shows_payload=False)
    guest.check("/shops/%22%3E%3Csvg%20onload%3D__xss%3D1%3E", status=404, shows_payload=False)
    guest.check(f"/s/{world['share']}")  # lands on the pick
    guest.check(f"/s/{world['collection_share']}?p={product}")  # lands on the product

    seller = Inspector(open_as(world["seller"], bypass_csp=True), live_server)
    for path in [
        "/account/",
        "/account/tokens",
        "/account/shop/",
        "/account/shop/products",
        f"/account/shop/products/{product}",
        f"/account/shop/products/{product}/variants",
        f"/account/shop/products/{product}/images",
        f"/account/shop/orders/{order}",
        "/account/earnings",
        "/notifications",
        "/feed",
        f"/products/{product}",
        f"/picks/{pick}",
        f"/comments/{world['comment']}/edit",
        "/shop/ideas",
        f"/shop/ideas/calls/{world['call']}/edit",
        f"/ideas/{world['waiting']}/decline",
        f"/ideas/{world['waiting']}/adopt",
    ]:
        seller.check(path)
    seller.check("/account/shop/orders/", shows_payload=False)  # shows the buyer's handle
    seller.check("/messages/selling")
    seller.check(f"/messages/{world['conversation']}")
    # The seller signed in once more from a browser that calls itself by a payload: the
    # security page names each session's device, and lists the tokens by name.
    open_as(world["seller"], user_agent=PAYLOADS[3])
    seller.check("/account/security")
    # Payouts need two-step sign-in first: its setup page and the recovery codes, then the
    # (emulated) Express onboarding, prefilled from the seller's profile.
    seller.page.goto(f"{live_server}/account/payouts")
    submit(seller.page, "Set up payouts")
    seller.page.wait_for_url("**/account/two-step?**")
    scan_here(seller, "two-step setup")
    two_step.turn_on(seller.page)
    scan_here(seller, "recovery codes")
    two_step.keep_codes(seller.page)
    seller.check("/account/two-step", shows_payload=False)
    seller.page.goto(f"{live_server}/account/payouts")
    submit(seller.page, "Set up payouts")
    seller.page.wait_for_url("**/_stripe/**")
    scan_here(seller, "Express onboarding")
    # A reward owed for the shortlisted idea, paid by card on the hosted page.
    seller.page.goto(f"{live_server}/shop/ideas")
    seller.page.get_by_role("button", name="Pay €10.00").click()
    seller.page.wait_for_url("**/_stripe/**")
    scan_here(seller, "reward payment page")

    curator = Inspector(open_as(world["curator"], bypass_csp=True), live_server)
    for path in [
        "/account/",
        f"/picks/{pick}/edit",
        f"/collections/{collection}/edit",
        f"/collections/{collection}",
        f"/share/{world['share']}",
        "/account/stats",
        "/account/earnings",
        "/notifications",
        "/feed",
        "/@curator/following",
        "/ideas/mine",
        f"/ideas/{world['adopted']}",
        f"/picks/new?product={product}",
    ]:
        curator.check(path)

    buyer = Inspector(open_as(world["buyer"], bypass_csp=True), live_server)
    for path in [
        "/orders",
        f"/orders/{order}",
        "/cart",
        "/checkout",
        "/feed",
        "/notifications",
        f"/products/{product}",
        "/ideas/mine",
        f"/ideas/{world['waiting']}/edit",
        f"/shops/xss-shop/ideas/new?call={world['call']}",
        "/messages",
        f"/messages/{world['conversation']}",
        "/messages?q=svg",
    ]:
        buyer.check(path)
    # The report form, about the curator's pick (one's own is not reported).
    buyer.check(f"/report?target_type=pick&target_id={pick}", shows_payload=False)
    # The (emulated) hosted payment page lists the items. It opens at the address the
    # checkout was started from (the test client's), so here at the live server's.
    hosted = urlsplit(world["hosted_page"])
    buyer.check(f"{hosted.path}?{hosted.query}" if hosted.query else hosted.path)

    admin = Inspector(open_as(world["admin"], bypass_csp=True), live_server)
    admin.check("/admin/reports")
    admin.check(f"/admin/reports/{world['message_report']}/message")
    admin.check("/@troll")
    admin.check("/admin/payouts/", shows_payload=False)

    assert_clean(guest, seller, curator, buyer, admin)


# --- the same payloads typed into the real forms ---------------------------------------------


@pytest.mark.parametrize("viewport", [LAPTOP], ids=["laptop"])
def test_payloads_typed_into_the_forms(app, live_server, open_as):
    base = live_server
    seller_user = UserFactory(handle="typist")
    curator_user = UserFactory(handle="picker", display_name=fit(80, 5))
    db.session.commit()
    seller = Inspector(open_as(seller_user, bypass_csp=True), base)
    page = seller.page

    page.goto(f"{base}/account/")
    page.get_by_label("Name").fill(fit(80, 0))
    page.get_by_label("Bio").fill(fit(500, 3))
    submit(page, "Save profile")
    assert "Your profile is saved." in page.content()
    scan_here(seller, "profile saved")

    page.goto(f"{base}/account/shop/open")
    page.get_by_label("Shop name").fill(fit(80, 2))
    page.get_by_label("Shop address").fill("typed-shop")
    page.get_by_label("About the shop").fill(f"{MARKDOWN}\n\n{CORPUS}")
    page.get_by_label("Return policy").fill(f"{CORPUS}\n\n{MARKDOWN}")
    submit(page, "Open my shop")
    assert page.url.endswith("/account/shop/products/new"), page.url

    title = fit(140, 4, prefix="Bowl")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description", exact=True).fill(f"{CORPUS}\n\n{MARKDOWN}")
    page.get_by_label("Category").select_option("home/ceramics")
    page.get_by_label("Price", exact=True).fill("25.00")
    page.get_by_label("In stock").fill("3")
    page.get_by_label("First option", exact=True).fill(fit(40, 6))
    page.get_by_label("First option's value").fill(fit(40, 8))
    page.get_by_label("Pictures").set_input_files(
        {"name": '"><svg onload=__xss=1>.png', "mimeType": "image/png", "buffer": png()}
    )
    submit(page, "List the product")
    assert "/variants" in page.url, page.url
    scan_here(seller, "product listed (flash with its title)")
    product_id = int(page.url.split("/products/")[1].split("/")[0])

    form = page.locator("section", has=page.get_by_role("heading", name="Add a variant"))
    form.get_by_label("First option").fill(fit(40, 10))
    form.get_by_label("Price").fill("30.00")
    submit(page, "Add the variant")
    assert "The variant is added." in page.content()

    page.goto(f"{base}/account/shop/products/{product_id}/images")
    page.locator("input#images").set_input_files(
        {"name": "<img src=x onerror=__xss=1>.png", "mimeType": "image/png", "buffer": png()}
    )
    page.get_by_label("Description of the pictures").fill(fit(200, 12))
    submit(page, "Upload")
    assert "The pictures are added." in page.content()
    # An SVG (or HTML) passed off as a picture is refused, never stored and served.
    page.locator("input#images").set_input_files(
        {
            "name": "picture.png",
            "mimeType": "image/png",
            "buffer": b'<svg xmlns="http://www.w3.org/2000/svg" onload="__xss=1"/>',
        }
    )
    submit(page, "Upload")
    assert "That file is not a JPEG, PNG or WebP image." in page.content()
    assert page.locator("img.dashboard-thumb").count() == 2

    # The shop takes ideas (its terms), and opens a call for them.
    page.goto(f"{base}/shop/ideas")
    page.get_by_label("Take ideas at any time under these terms").check()
    submit(page, "Save the terms")
    assert "Your co-creation terms are saved." in page.content()
    page.goto(f"{base}/shop/ideas/calls/new")
    page.get_by_label("Title").fill(fit(120, 21, prefix="Call"))
    page.get_by_label("The brief").fill(CORPUS)
    submit(page, "Open the call")
    assert "Your call for ideas is open." in page.content()
    scan_here(seller, "call opened")

    curator = Inspector(open_as(curator_user, bypass_csp=True), base)
    page = curator.page
    page.goto(f"{base}/@typist")
    page.locator(".profile-follow button[type=submit]").click()  # the seller is notified
    page.wait_for_load_state()
    page.goto(f"{base}/picks/new?product={product_id}")
    page.get_by_label("Why you love it").fill(CORPUS[:1000])
    submit(page, "Publish the pick")
    assert "Your pick is published." in page.content()
    pick_url = page.url
    page.get_by_label("Add a comment").fill(CORPUS)
    submit(page, "Comment")
    scan_here(curator, "comment posted")
    page.goto(f"{base}/shops/typed-shop/ideas/new")
    page.get_by_label("Your idea in a few words").fill(fit(120, 3, prefix="Idea"))
    page.get_by_label("Describe it").fill(CORPUS)
    submit(page, "Submit the idea")
    assert "Your idea is in." in page.content()
    idea_url = page.url
    page.get_by_label("Add a comment").fill(CORPUS)
    submit(page, "Comment")
    scan_here(curator, "comment on an idea")
    page.goto(f"{base}/collections/new")
    page.get_by_label("Title").fill(fit(80, 17, prefix="Mugs"))
    page.get_by_label("Description").fill(CORPUS[:1000])
    submit(page, "Save")
    assert "Your collection is created." in page.content()
    collection_url = page.url
    # From the product page: into the collection, with a note.
    page.goto(f"{base}/products/{product_id}")
    page.get_by_text("Add to a collection").click()
    page.get_by_label("Note (optional)").fill(fit(500, 3))
    submit(page, "Add")
    scan_here(curator, "added to the collection (flash with its title)")

    for path in [
        "/@typist",
        "/@picker",
        "/shops/typed-shop",
        f"/products/{product_id}",
        pick_url,
        collection_url,
        "/search?q=bowl",
        "/feed",
        idea_url,
        "/shops/typed-shop/ideas",
        "/ideas",
        "/ideas/mine",
    ]:
        curator.check(path)
    for path in [
        "/account/",
        "/account/shop/",
        "/account/shop/products",
        f"/account/shop/products/{product_id}",
        f"/account/shop/products/{product_id}/variants",
        f"/account/shop/products/{product_id}/images",
        "/notifications",
        "/shop/ideas",
    ]:
        seller.check(path)
    assert_clean(seller, curator)
