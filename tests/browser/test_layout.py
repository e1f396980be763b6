"""The layout on a phone (390x844) and a laptop (1280x800): nothing sticks out sideways, the
header is one row (on a phone: the brand, search, a menu button and the cart), its menu
works with the keyboard and without JavaScript, the first product shows without scrolling,
and the checkout's total and split sit above its pay button. Each key page is kept as a
screenshot at both sizes under test-artifacts/screenshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.extensions import db
from tests.browser.conftest import ARTIFACTS, PHONE, overflow, screenshot
from tests.factories import (
    CallFactory,
    CollectionFactory,
    FollowFactory,
    IdeaFactory,
    PickFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
)

DESKTOP = {"width": 1280, "height": 800}
HEADER_MAX = 72  # CSS pixels, with the menu closed

BOX = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height};
}"""

# The distinct tops of the header's shown links: one value when they stand in one row.
ROWS = """() => [...new Set([...document.querySelectorAll('.nav-links > li')]
  .filter((li) => li.offsetParent !== null)
  .map((li) => Math.round(li.getBoundingClientRect().top / 8)))]"""

FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 40),
    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
    shown: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < window.innerHeight,
    inMenu: !!el.closest(".nav-links"),
  };
}"""


@pytest.fixture(params=["phone", "desktop"])
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    return PHONE if request.param == "phone" else DESKTOP


@dataclass
class World:
    shopper: Any
    curator: Any
    shop: Any
    product: Any


@pytest.fixture
def world(app: Any) -> World:
    """A small marketplace: a shop of ceramics and knitwear with free shipping over €50, a
    curator's pick and collection, a call for ideas, and a shopper who follows the curator."""
    shop = ShopFactory(
        name="Atelier Duarte", shipping_flat_minor=490, free_shipping_over_minor=5000
    )
    titles = [
        ("Speckled stoneware mug with a long name that wraps", "home/ceramics", 2800),
        ("Hand-thrown serving bowl", "home/ceramics", 6400),
        ("Set of four dinner plates", "home/ceramics", 8900),
        ("Ribbed wool socks", "clothing/knitwear", 2600),
        ("Fisherman rib beanie", "clothing/knitwear", 3400),
        ("Olive oil pourer", "home/kitchen", 3100),
    ]
    products = [
        ProductFactory(shop=shop, title=title, category=category, price_minor=price, stock=5)
        for title, category, price in titles
    ]
    curator = UserFactory(handle="chloe", display_name="Chloé Martin")
    shopper = UserFactory(handle="farid", display_name="Farid Haddad")
    PickFactory(author=curator, product=products[0], note="The mug I reach for every morning.")
    CollectionFactory(owner=curator, title="Slow mornings", products=products[:3])
    FollowFactory(follower=shopper, followee=curator)
    call = CallFactory(shop=shop, title="What should we make next?")
    IdeaFactory(call=call, title="A deeper ramen bowl with a chopstick rest")
    db.session.commit()
    return World(shopper=shopper, curator=curator, shop=shop, product=products[0])


def is_phone(page: Any) -> bool:
    return bool(page.viewport_size and page.viewport_size["width"] == PHONE["width"])


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.evaluate(BOX, selector)
    assert found is not None, f"{page.url}: nothing matches {selector}"
    return dict(found)


def add_to_cart(page: Any, base: str, product: Any) -> None:
    page.goto(f"{base}/products/{product.id}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{base}/cart")


def check_page(page: Any, name: str) -> None:
    """No sideways scrolling, a one-row header, the right navigation for the size; and a
    screenshot to look at."""
    assert overflow(page) == 0, f"{page.url} is wider than the screen"
    header = box(page, ".site-header")
    assert header["height"] <= HEADER_MAX, f"{page.url}: the header is {header['height']} px"
    menu_button = page.locator("summary.nav-menu-button")
    cart = page.locator("a.nav-pinned[href='/cart']")
    assert cart.is_visible(), f"{page.url}: the cart is not in the header"
    if is_phone(page):
        assert menu_button.is_visible(), f"{page.url}: no menu button"
        assert not page.locator(".nav-links").is_visible(), f"{page.url}: the menu is open"
    else:
        assert not menu_button.is_visible(), f"{page.url}: a menu button on a wide screen"
        assert page.locator(".nav-links").is_visible(), f"{page.url}: no inline navigation"
    screenshot(page, f"layout-{name}")


def test_key_pages_fit_the_screen_under_a_one_row_header(world, live_server, open_as):
    guest = open_as(None)
    guest_pages = {
        "home": "/",
        "new": "/new",
        "trending": "/trending",
        "category": "/categories/home",
        "subcategory": "/categories/home/ceramics",
        "product": f"/products/{world.product.id}",
        "shop": f"/shops/{world.shop.slug}",
        "ideas": "/ideas",
        "profile": f"/@{world.curator.handle}",
        "login": "/login",
    }
    for name, path in guest_pages.items():
        guest.goto(f"{live_server}{path}")
        check_page(guest, f"guest-{name}")
    add_to_cart(guest, live_server, world.product)
    check_page(guest, "guest-cart")

    shopper = open_as(world.shopper)
    add_to_cart(shopper, live_server, world.product)
    check_page(shopper, "cart")
    shopper_pages = {
        "home": "/",
        "checkout": "/checkout",
        "feed": "/feed",
        "account": "/account/",
        "orders": "/orders",
        "notifications": "/notifications",
    }
    for name, path in shopper_pages.items():
        shopper.goto(f"{live_server}{path}")
        check_page(shopper, name)
    # The cart's count is in the header's bar, on a phone too.
    assert shopper.locator("a.nav-pinned[href='/cart'] .badge").inner_text() == "1"


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_the_first_product_shows_without_scrolling_on_a_phone(world, live_server, open_as):
    for visitor in (open_as(None), open_as(world.shopper)):
        for path in [
            "/",
            "/new",
            "/trending",
            "/categories/home",
            "/categories/home/ceramics",
            f"/shops/{world.shop.slug}",
        ]:
            visitor.goto(f"{live_server}{path}")
            card = box(visitor, ".product-card")
            # Product pictures are square, as wide as their card: all of it is in sight.
            picture_bottom = card["top"] + (card["right"] - card["left"])
            assert card["top"] > 0 and picture_bottom <= PHONE["height"], (path, card)


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_phone_menu_opens_and_its_links_are_reached_by_keyboard(
    world, live_server, open_as, javascript
):
    page = open_as(None, java_script_enabled=javascript)
    page.goto(f"{live_server}/new")
    button = page.locator("summary.nav-menu-button")
    assert button.inner_text().strip() == "Menu"
    # Tab to the button: it shows it has the focus.
    for _ in range(6):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused and focused["tag"] == "summary":
            break
    assert focused and focused["tag"] == "summary" and focused["ring"], focused
    page.keyboard.press("Enter")
    assert page.locator("details.nav-menu").evaluate("menu => menu.open")
    assert page.locator(".nav-links").is_visible()
    menu = box(page, ".nav-links")
    assert menu["top"] >= box(page, ".site-header")["bottom"] - 1  # under the header's row
    # Every link in the menu is reached by Tab, in sight and with its ring.
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if not focused or not focused["inMenu"]:
            break
        assert focused["shown"] and focused["ring"], focused
        reached.append(focused["text"])
    assert reached[:3] == ["Ideas", "Browse", "Search"], reached
    assert reached[-2:] == ["Log in", "Sign up"], reached
    menu_open = page.locator(".nav-links")
    assert menu_open.is_visible()
    screenshot(page, "layout-menu-open")
    # Its button, back at the top, closes it: by keyboard, and by a tap.
    for _ in range(15):
        page.keyboard.press("Shift+Tab")
        if page.evaluate(FOCUS)["tag"] == "summary":
            break
    page.keyboard.press("Enter")
    assert not menu_open.is_visible()
    button.click()
    assert menu_open.is_visible()
    button.click()
    assert not menu_open.is_visible()
    # A link in the menu goes where it says.
    button.click()
    page.get_by_role("link", name="Ideas").click()
    page.wait_for_url(f"{live_server}/ideas")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_a_signed_in_persons_menu_holds_their_links_and_says_something_is_new(
    world, live_server, open_as
):
    # Someone follows the shopper: one notification, shown as a dot on the closed menu.
    from social import follows

    follows.follow(world.curator, world.shopper)
    db.session.commit()
    page = open_as(world.shopper)
    page.goto(f"{live_server}/")
    assert page.locator(".nav-menu-dot").is_visible()
    page.locator("summary.nav-menu-button").click()
    for name in ["Feed", "Ideas", "Browse", "Account", "@farid"]:
        assert page.get_by_role("link", name=name, exact=True).is_visible(), name
    assert page.get_by_role("button", name="Log out").is_visible()
    assert page.locator(".nav-links .badge").inner_text() == "1"


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["desktop"])
def test_a_wide_screen_keeps_its_links_in_the_header_row(world, live_server, open_as):
    page = open_as(world.shopper)
    page.goto(f"{live_server}/")
    row = box(page, ".site-header")
    # Search is the header's own search box here, not a link beside it.
    assert not page.get_by_role("link", name="Search", exact=True).is_visible()
    for name in ["Feed", "Ideas", "Browse", "Notifications", "Account", "Cart"]:
        link = page.get_by_role("link", name=name)
        assert link.is_visible(), name
        found = link.bounding_box()
        assert found and row["top"] <= found["y"] and found["y"] + found["height"] <= row["bottom"]
    assert page.get_by_role("searchbox").is_visible()


def test_the_checkout_shows_the_total_and_the_split_above_the_pay_button(
    world, live_server, open_as
):
    page = open_as(world.shopper)
    add_to_cart(page, live_server, world.product)
    page.goto(f"{live_server}/checkout")
    pay = page.get_by_role("button", name="Continue to payment")
    pay.scroll_into_view_if_needed()
    button = pay.bounding_box()
    total = box(page, ".checkout-summary .totals .grand:last-child")
    split = box(page, "#split-heading")
    header = box(page, ".site-header")
    assert button is not None
    assert split["bottom"] <= button["y"] and total["bottom"] <= button["y"], (total, button)
    # With the button in sight, so is the total, just above it (not under the header).
    assert header["bottom"] <= total["top"] and total["bottom"] <= page.viewport_size["height"]
    assert page.locator(".split-parts").first.is_visible()
    # What the buyer sees as they reach the button (the whole page is "layout-checkout").
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-checkout-pay-{page.viewport_size['width']}.png"))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_visitor_switches_to_french_and_back_from_the_footer(
    world, live_server, open_as, javascript
):
    page = open_as(None, java_script_enabled=javascript)
    page.goto(f"{live_server}/shops/{world.shop.slug}")
    page.get_by_role("button", name="Français").click()
    page.wait_for_url(f"{live_server}/shops/{world.shop.slug}")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Produits").is_visible()
    page.goto(f"{live_server}/new")  # remembered
    assert page.locator("html").get_attribute("lang") == "fr"
    check_page(page, "guest-new-fr")
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en-GB"


@pytest.mark.parametrize(
    "viewport", [DESKTOP, {"width": 1200, "height": 800}], ids=["1280", "1200"]
)
def test_a_signed_in_laptop_header_is_one_row_in_french_too(world, live_server, open_as):
    """A signed-in person has the most links, and French names them at length: the header's
    search box stands for its Search link and gives way before a link wraps to a second row."""
    person = UserFactory(locale="fr", handle="marie_claire_dupont", display_name="Marie-Claire")
    db.session.commit()
    page = open_as(person)
    for path in ("/new", "/feed", "/account/"):
        page.goto(f"{live_server}{path}")
        check_page(page, f"signed-in-fr-{page.viewport_size['width']}-{path.strip('/') or 'home'}")
        rows = page.evaluate(ROWS)
        assert len(rows) == 1, f"{page.url}: the header's links stand in rows at {rows}"
        links = page.locator(".nav-links a:visible, .nav-links button:visible")
        assert links.count() >= 7, f"{page.url}: {links.count()} links in the header"
        search_links = page.locator(".nav-links a[href='/search']:visible").count()
        has_box = page.locator(".header-search").is_visible()
        assert search_links == (0 if has_box else 1), (
            f"{page.url}: search offered twice or not at all"
        )
