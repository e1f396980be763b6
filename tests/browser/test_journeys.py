"""The whole marketplace in Chromium, through the pages, at phone and laptop sizes.

Two sellers open shops, list products (with variants and uploaded pictures) and one of them
sets up payouts on the emulated Express onboarding, turning on two-step sign-in first as the
site asks; a curator follows a seller, picks a product and shares the link (and sets up
payouts the same way); a shopper follows that link and buys from both shops in one cart on
the hosted payment page; the sellers ship, the shopper confirms delivery; the money
jobs run (`flask payouts release` past the hold, `flask payouts run`); everyone sees the right
amounts; then a refund shows up on every page that shows money.

Only the starting accounts are written directly; everything else goes through the pages. The
database is only read: to wait for the payment's webhook, and at the end to check the ledger
against Stripe.

The figures (platform fee 8 %, Ana's curator commission 20 %):
  Ana's large bowl 60.00 + shipping 5.00 = 65.00: fee 4.80, Chloé 12.00, Ana 43.20 + 5.00
  Bruno's jacket 40.00, shipping free over 30.00 = 40.00: fee 3.20, Bruno 36.80
  Refund of 15.00 of the bowl: fee 1.20, Chloé 3.00, Ana 10.80 given back.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import utcnow
from marketplace.order_models import Order
from tests.browser import two_step
from tests.browser.conftest import eventually, overflow, png, screenshot
from tests.factories import UserFactory
from tests.payouts.money import check_invariants


def items_table(page: Any) -> str:
    """The text of an order's items table (lines, shipping, total, refunds), on one line,
    lower-cased (headings are styled in capitals)."""
    return " ".join(page.get_by_role("table", name="Items").inner_text().split()).lower()


def stat(page: Any, label: str) -> str:
    """The amount on an earnings dashboard's card: Pending, Available or Paid."""
    card = page.locator(".stat", has=page.locator(".stat-label", has_text=label))
    return card.locator(".stat-value").inner_text().strip()


def snap(page: Any, name: str) -> None:
    """A screenshot of a key page, which must also fit the window (no sideways scrolling)."""
    screenshot(page, name)
    assert overflow(page) <= 0, f"{name}: {overflow(page)}px wider than the window"


# --- what a seller does ---------------------------------------------------------------------


def open_shop(page: Any, base: str, *, name: str, slug: str, shipping: str, **extra: str) -> None:
    page.goto(f"{base}/account/shop/open")
    page.get_by_label("Shop name").fill(name)
    page.get_by_label("Shop address").fill(slug)
    page.get_by_label("About the shop").fill(f"**{name}**: made by hand, shipped with care.")
    page.get_by_label("Shipping per order").fill(shipping)
    if "free_over" in extra:
        page.get_by_label("Free shipping from").fill(extra["free_over"])
    page.get_by_label("Curator commission (%)").fill(extra.get("commission", "10"))
    page.get_by_role("button", name="Open my shop").click()
    page.wait_for_url(f"{base}/account/shop/products/new")
    assert "Your shop is open" in page.content()


def list_product(
    page: Any,
    base: str,
    *,
    title: str,
    category: str,
    price: str,
    stock: str,
    picture: bytes,
    option: tuple[str, str] | None = None,
) -> int:
    """The "List a product" form, with its first picture; returns the product's id."""
    page.goto(f"{base}/account/shop/products/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description", exact=True).fill(f"A *{title.lower()}*, one of a kind.")
    page.get_by_label("Category").select_option(category)
    page.get_by_label("Price", exact=True).fill(price)
    page.get_by_label("In stock").fill(stock)
    if option:
        page.get_by_label("First option", exact=True).fill(option[0])
        page.get_by_label("First option's value").fill(option[1])
    page.get_by_label("Pictures").set_input_files(
        {"name": "cover.png", "mimeType": "image/png", "buffer": picture}
    )
    page.get_by_role("button", name="List the product").click()
    page.wait_for_load_state()
    assert f"“{title}” is listed." in page.content(), page.content()[-3000:]
    match = re.search(r"/account/shop/products/(\d+)", page.url)
    if match:  # with options: the variants page comes next
        return int(match.group(1))
    link = page.locator(f"a:has-text('{title}')").first.get_attribute("href") or ""
    return int(re.search(r"/products/(\d+)", link).group(1))  # type: ignore[union-attr]


def add_variant(page: Any, base: str, product_id: int, value: str, price: str, stock: str) -> None:
    page.goto(f"{base}/account/shop/products/{product_id}/variants")
    form = page.locator("section", has=page.get_by_role("heading", name="Add a variant"))
    form.get_by_label("First option").fill(value)
    form.get_by_label("Price").fill(price)
    form.get_by_label("In stock").fill(stock)
    form.get_by_role("button", name="Add the variant").click()
    page.wait_for_load_state()
    assert "The variant is added." in page.content()


def add_picture(page: Any, base: str, product_id: int, picture: bytes, alt: str) -> None:
    page.goto(f"{base}/account/shop/products/{product_id}/images")
    page.locator("input#images").set_input_files(
        {"name": "side.png", "mimeType": "image/png", "buffer": picture}
    )
    page.get_by_label("Description of the pictures").fill(alt)
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    assert "The pictures are added." in page.content()
    assert page.locator("img.dashboard-thumb").count() == 2


def set_up_payouts(page: Any, base: str, shot: str | None = None) -> two_step.Authenticator:
    """Payouts need two-step sign-in first: the seller is sent to turn it on (the key read off
    the page into an authenticator app, a code typed back, the recovery codes kept), comes
    back, and sets up payouts. Returns the seller's authenticator."""
    page.goto(f"{base}/account/payouts")
    page.get_by_role("button", name="Set up payouts").click()
    page.wait_for_url(re.compile(r".*/account/two-step\?.*required=1"))
    assert "Turn on two-step verification first" in page.content()
    if shot:
        snap(page, "journey-payouts-two-step-first")
    authenticator = two_step.turn_on(page)
    two_step.keep_codes(page)
    page.wait_for_url(f"{base}/account/payouts")
    page.get_by_role("button", name="Set up payouts").click()
    page.wait_for_url("**/_stripe/**")  # the emulated Express onboarding
    if shot:
        snap(page, shot)
    page.get_by_role("button", name="Agree and submit").click()
    page.wait_for_url(f"{base}/account/payouts")
    assert "Payouts are set up" in page.content()
    assert page.get_by_role("heading", name="Payouts are on").count() == 1
    return authenticator


def open_order(page: Any, base: str) -> None:
    """The seller's one order, from their orders list."""
    page.goto(f"{base}/account/shop/orders/")
    page.locator("table a[href*='/account/shop/orders/']").first.click()
    page.wait_for_url(re.compile(r".*/account/shop/orders/\d+$"))


def ship(page: Any, base: str, carrier: str, tracking: str) -> None:
    open_order(page, base)
    page.get_by_label("Carrier").fill(carrier)
    page.get_by_label("Tracking number (optional)").fill(tracking)
    page.get_by_role("button", name="Mark as shipped").click()
    page.wait_for_load_state()
    assert "Marked as shipped" in page.content()


# --- the money jobs, as the scheduler runs them ---------------------------------------------


def flask_cli(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    db.session.commit()  # a fresh snapshot after the job's own transaction
    return str(result.output)


# --- the journey ------------------------------------------------------------------------------


def test_sell_curate_share_buy_ship_pay_out_and_refund(
    app, live_server, live_gate, open_as, emulator
):
    base = live_server
    ana = UserFactory(handle="ana", display_name="Ana Lima")
    bruno = UserFactory(handle="bruno", display_name="Bruno Costa")
    chloe = UserFactory(handle="chloe", display_name="Chloé Martin")
    farid = UserFactory(handle="farid", display_name="Farid Haddad")
    db.session.commit()

    # Ana opens her shop, lists a bowl in two sizes with two pictures, and sets up payouts.
    as_ana = open_as(ana)
    open_shop(
        as_ana, base, name="Ana's studio", slug="anas-studio", shipping="5.00", commission="20"
    )
    bowl_id = list_product(
        as_ana,
        base,
        title="Speckled bowl",
        category="home/ceramics",
        price="25.00",
        stock="3",
        picture=png((180, 110, 70)),
        option=("Size", "Small"),
    )
    add_variant(as_ana, base, bowl_id, "Large", "60.00", "2")
    snap(as_ana, "journey-seller-variants")
    add_picture(as_ana, base, bowl_id, png((90, 60, 40)), "The bowl from above")
    set_up_payouts(as_ana, base, shot="journey-express-onboarding")

    # Bruno opens his shop the same way, lists a jacket, and leaves payouts for later.
    as_bruno = open_as(bruno)
    open_shop(
        as_bruno, base, name="Bruno denim", slug="bruno-denim", shipping="7.00", free_over="30.00"
    )
    jacket_id = list_product(
        as_bruno,
        base,
        title="Denim jacket",
        category="clothing/tops",
        price="40.00",
        stock="1",
        picture=png((40, 60, 120)),
    )

    # The bowl's page shows both sizes and both pictures to anyone.
    as_chloe = open_as(chloe)
    as_chloe.goto(f"{base}/products/{bowl_id}")
    assert as_chloe.locator(".variants-table tbody tr").count() == 2
    assert as_chloe.get_by_alt_text("The bowl from above").count() == 1
    assert as_chloe.locator("img.product-main-image").count() == 1
    snap(as_chloe, "journey-product")

    # Chloé follows Ana, picks the bowl and shares her pick; she sets up payouts too.
    as_chloe.goto(f"{base}/@ana")
    as_chloe.get_by_role("button", name="Follow").click()
    as_chloe.wait_for_load_state()
    assert as_chloe.get_by_role("button", name="Following").count() == 1
    as_chloe.goto(f"{base}/products/{bowl_id}")
    as_chloe.get_by_role("link", name="Pick this").click()
    as_chloe.get_by_label("Why you love it").fill("I eat my ramen from the large one every day.")
    as_chloe.get_by_role("button", name="Publish the pick").click()
    as_chloe.wait_for_url(re.compile(r".*/picks/\d+$"))
    assert "Your pick is published." in as_chloe.content()
    as_chloe.locator(".social-pick").get_by_role("button", name="Share").click()
    as_chloe.wait_for_url(re.compile(r".*/share/[^/]+$"))
    share_url = as_chloe.locator("#share-url").input_value()
    assert share_url.startswith(f"{base}/s/")
    snap(as_chloe, "journey-share-link")
    set_up_payouts(as_chloe, base)

    # Farid follows the link, takes the large bowl, and the jacket from Bruno's shop.
    as_farid = open_as(farid)
    as_farid.goto(share_url)
    assert "I eat my ramen" in as_farid.content()
    as_farid.locator(".social-pick a.social-product").click()
    as_farid.wait_for_url(re.compile(rf".*/products/{bowl_id}(/[^/]*)?$"))
    as_farid.get_by_label("Size").select_option(label="Large — €60.00")
    as_farid.get_by_role("button", name="Add to cart").click()
    as_farid.wait_for_url(f"{base}/cart")
    as_farid.goto(f"{base}/products/{jacket_id}")
    as_farid.get_by_role("button", name="Add to cart").click()
    as_farid.wait_for_url(f"{base}/cart")
    assert "€105.00" in as_farid.content()  # 60 + 5 shipping + 40 (ships free over 30)
    snap(as_farid, "journey-cart")
    as_farid.get_by_role("link", name="Check out").click()
    as_farid.wait_for_url(f"{base}/checkout")
    # Before paying, the shopper sees where the money goes, Chloé's commission included.
    split = as_farid.locator(".split-parts").first
    assert "€12.00" in split.locator(".split-curator").inner_text()
    assert "€4.80" in split.inner_text()
    as_farid.get_by_label("Full name").fill("Farid Haddad")
    as_farid.get_by_label("Address", exact=True).fill("12 rue des Lilas")
    as_farid.get_by_label("Postal code").fill("69003")
    as_farid.get_by_label("City").fill("Lyon")
    as_farid.get_by_label("Country").select_option("FR")
    snap(as_farid, "journey-checkout")
    as_farid.get_by_role("button", name="Continue to payment").click()
    as_farid.wait_for_url("**/_stripe/**")
    assert "€105.00" in as_farid.content()
    as_farid.get_by_label("Card number").fill("4242 4242 4242 4242")
    as_farid.get_by_role("button", name="Pay").click()
    as_farid.wait_for_url("**/checkout/*/done")

    def two_orders() -> bool:
        db.session.rollback()
        return db.session.scalar(select(func.count(Order.id))) == 2

    assert eventually(two_orders), emulator.deliveries()

    # Both sellers ship; Farid confirms both deliveries from his orders.
    ship(as_ana, base, "La Poste", "LP123456789FR")
    snap(as_ana, "journey-seller-order-shipped")
    # The seller's order shows the split as it was fixed at checkout, Chloé's share included.
    split_table = as_ana.locator(
        "section", has=as_ana.get_by_role("heading", name="Where the money goes")
    )
    split_text = " ".join(split_table.inner_text().split())
    assert "€4.80" in split_text and "€12.00" in split_text and "€43.20" in split_text, split_text
    ship(as_bruno, base, "DHL", "")
    as_farid.goto(f"{base}/orders")
    order_links = [
        link.get_attribute("href") for link in as_farid.locator("table a[href*='/orders/']").all()
    ]
    assert len(order_links) == 2
    totals = set()
    for href in order_links:
        as_farid.goto(f"{base}{href}")
        assert "On its way" in as_farid.content()
        totals.add(items_table(as_farid).split("total paid ")[1].split()[0])
        as_farid.get_by_role("button", name="I received it").click()
        as_farid.wait_for_load_state()
        assert "The seller is told the parcel arrived" in as_farid.content()
    assert totals == {"€65.00", "€40.00"}

    # The money jobs: nothing is released before the hold has passed, then all of it is.
    assert "Released 0 earning(s)." in flask_cli(app, "payouts", "release")
    # The server waits while the clock is moved (see tests/browser/conftest.Gate).
    with live_gate.shut(), time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        released = flask_cli(app, "payouts", "release")
    assert "Released 4 earning(s)." in released  # Ana's line and shipping, Chloé's, Bruno's
    run = flask_cli(app, "payouts", "run")
    assert "2 paid (€60.20)" in run, run  # Ana 48.20 and Chloé 12.00; Bruno has no account

    as_ana.goto(f"{base}/account/earnings")
    assert (stat(as_ana, "Pending"), stat(as_ana, "Available"), stat(as_ana, "Paid")) == (
        "€0.00",
        "€0.00",
        "€48.20",
    )
    snap(as_ana, "journey-seller-earnings")
    as_chloe.goto(f"{base}/account/earnings")
    assert (stat(as_chloe, "Available"), stat(as_chloe, "Paid")) == ("€0.00", "€12.00")
    assert as_chloe.get_by_role("cell", name="Curator").count() == 1
    snap(as_chloe, "journey-curator-earnings")
    as_bruno.goto(f"{base}/account/earnings")
    assert (stat(as_bruno, "Available"), stat(as_bruno, "Paid")) == ("€36.80", "€0.00")
    assert "Your earnings wait for you until you set up payouts." in as_bruno.content()
    # Chloé's statistics count the order that came through her link.
    as_chloe.goto(f"{base}/account/stats")
    cells = as_chloe.locator("tbody tr", has_text="Speckled bowl").locator("td").all_inner_texts()
    assert int(cells[2]) >= 1 and cells[3:] == ["1", "1", "€60.00"], cells

    # Ana refunds 15.00 of the bowl, after everyone was paid.
    open_order(as_ana, base)
    ana_order_url = as_ana.url
    refund = as_ana.locator("section", has=as_ana.locator("#refund-heading"))
    refund.get_by_label("Speckled bowl · Large").fill("15.00")
    refund.get_by_label("Reason (shown to the buyer)").fill("A chip on the rim")
    refund.get_by_role("button", name="Refund").click()
    as_ana.wait_for_load_state()
    assert "Refunded €15.00." in as_ana.content()
    # The refund's job takes the shares back from the paid transfers (inline here); the next
    # scheduled run has nothing left to pay or to reverse.
    run = flask_cli(app, "payouts", "run")
    assert "0 paid (€0.00)" in run, run

    as_ana.goto(ana_order_url)
    assert "refunded €15.00" in items_table(as_ana)
    assert "refunded \u2212€15.00" in items_table(as_ana)
    snap(as_ana, "journey-seller-order-refunded")
    as_farid.goto(f"{base}/orders")
    as_farid.locator("tr", has_text="Ana's studio").locator("a").first.click()
    assert "refunded €15.00" in items_table(as_farid)
    assert "total paid €65.00" in items_table(as_farid)
    assert "refunded \u2212€15.00" in items_table(as_farid)
    assert "A chip on the rim" in as_farid.content()
    snap(as_farid, "journey-shopper-order-refunded")

    as_ana.goto(f"{base}/account/earnings")
    assert stat(as_ana, "Paid") == "€37.40"  # 48.20 - 10.80
    assert "€10.80 taken back" in as_ana.content()
    assert "€32.40" in as_ana.content() and "of €43.20" in as_ana.content()  # the bowl's line
    snap(as_ana, "journey-seller-earnings-refunded")
    as_chloe.goto(f"{base}/account/earnings")
    assert stat(as_chloe, "Paid") == "€9.00"
    assert "€3.00 taken back" in as_chloe.content()
    as_bruno.goto(f"{base}/account/earnings")
    assert stat(as_bruno, "Available") == "€36.80"  # untouched by Ana's refund
    check_invariants(emulator)
