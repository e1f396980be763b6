"""The product gallery in a browser, on a phone (390 x 844, touch) and a laptop (1280 x 800):
thumbnails and arrow keys move the pictures; a picture opens a dialog that arrows, swipes and
Escape work in, with a tap to zoom, and closing it puts the focus back on the thumbnail of the
picture it ended on. Without JavaScript the thumbnails still bring their picture into view."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from app.extensions import db
from marketplace import products as product_services
from tests.browser.conftest import ARTIFACTS, png
from tests.factories import ProductFactory, ReviewFactory, ShopFactory

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
ALTS = ["The bowl from the front", "The glaze up close", "The bowl from above"]
COLOURS = [(200, 120, 80), (60, 110, 160), (90, 150, 90)]


@pytest.fixture
def bowl(app: Any) -> Any:
    shop = ShopFactory(name="Atelier Duarte")
    product = ProductFactory(shop=shop, title="Speckled ramen bowl", description="Deep.")
    product_services.add_images(
        shop.owner,
        product,
        [
            product_services.ImageUpload(png(colour, size=900), alt)
            for colour, alt in zip(COLOURS, ALTS, strict=True)
        ],
    )
    for n in range(2):
        ProductFactory(shop=shop, title=f"Espresso cup {n}")
    ReviewFactory(product=product, rating=5, body="Deep enough for a real ramen.")
    db.session.commit()
    return product


def open_page(browser: Any, base: str, product: Any, device: dict[str, Any], **options: Any):
    context = browser.new_context(locale="en-GB", **device, **options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/products/{product.id}")
    return context, page


def snap(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"))


def current(page: Any) -> dict[str, Any]:
    """Which picture the gallery shows: by its count, its thumbnails and where the row is."""
    return dict(
        page.evaluate(
            """() => {
              const track = document.querySelector('.gallery-slides');
              const thumb = document.querySelector('.gallery-thumbs a[aria-current="true"]');
              return {count: document.querySelector('.gallery-count [data-count]').textContent,
                      thumb: thumb && thumb.getAttribute('href'),
                      scrolled: Math.round(track.scrollLeft / track.clientWidth)};
            }"""
        )
    )


def settled(page: Any, picture: int) -> None:
    """Wait for the row's smooth scroll to reach a picture (1-based)."""
    page.wait_for_function(
        """(n) => { const t = document.querySelector('.gallery-slides');
                   return Math.abs(t.scrollLeft - (n - 1) * t.clientWidth) < 2; }""",
        arg=picture,
    )


def test_on_a_laptop_the_keyboard_does_everything(browser, live_server, bowl):
    context, page = open_page(browser, live_server, bowl, LAPTOP)
    try:
        assert page.locator("[data-gallery].is-enhanced").count() == 1
        assert current(page) == {"count": "1", "thumb": "#picture-1", "scrolled": 0}
        # The arrows over the picture and the thumbnails move it; only one picture link at a
        # time is in the tab order (the others are off to the side).
        page.get_by_role("button", name="Next picture").first.click()
        settled(page, 2)
        assert current(page) == {"count": "2", "thumb": "#picture-2", "scrolled": 1}
        page.locator('.gallery-thumbs a[href="#picture-1"]').click()
        settled(page, 1)
        assert page.evaluate("() => location.hash") == ""  # no jump: the script moved it
        tabbable = page.locator('.gallery-zoom[tabindex="0"]')
        assert tabbable.count() == 1
        # Keys: Arrow on the picture moves to the next; Enter opens it large.
        tabbable.focus()
        page.keyboard.press("ArrowRight")
        settled(page, 2)
        assert current(page)["count"] == "2"
        page.keyboard.press("Enter")
        dialog = page.locator("dialog.gallery-dialog")
        assert dialog.is_visible()
        assert page.locator(".gallery-big").get_attribute("alt") == ALTS[1]
        assert page.locator("[data-caption]").inner_text() == ALTS[1]
        snap(page, "product-gallery-dialog")
        page.keyboard.press("ArrowRight")
        assert page.locator(".gallery-big").get_attribute("alt") == ALTS[2]
        assert dialog.locator("[data-count]").inner_text() == "3"
        page.keyboard.press("ArrowRight")  # round to the first
        assert page.locator(".gallery-big").get_attribute("alt") == ALTS[0]
        page.keyboard.press("ArrowLeft")
        assert page.locator(".gallery-big").get_attribute("alt") == ALTS[2]
        # Zoom: the button (or a click on the picture) shows it at full size, then fitted again.
        zoom = dialog.get_by_role("button", name="Zoom", exact=True)
        zoom.click()
        assert zoom.get_attribute("aria-pressed") == "true"
        full = page.locator(".gallery-zoom").nth(2).get_attribute("href")
        assert (page.locator(".gallery-big").get_attribute("src") or "").endswith(f"{full}")
        page.locator(".gallery-big").click()
        assert zoom.get_attribute("aria-pressed") == "false"
        # Escape closes it: the page shows the picture it ended on, its thumbnail has the focus.
        page.keyboard.press("Escape")
        assert not dialog.is_visible()
        # (The dialog's close event, which moves the focus, comes a moment after it closes.)
        expect(page.locator('.gallery-thumbs a[href="#picture-3"]')).to_be_focused()
        settled(page, 3)
        assert current(page) == {"count": "3", "thumb": "#picture-3", "scrolled": 2}
        snap(page, "product-gallery")
    finally:
        context.close()


def test_on_a_phone_a_tap_opens_a_swipe_moves_and_a_tap_zooms(browser, live_server, bowl):
    context, page = open_page(browser, live_server, bowl, PHONE)
    try:
        # No arrows over the picture on a touch screen: a swipe moves the row.
        assert not page.locator(".gallery-stage .gallery-next").is_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.locator(".gallery-zoom").first.tap()
        dialog = page.locator("dialog.gallery-dialog")
        expect(dialog).to_be_visible()
        big = page.locator(".gallery-big")
        assert big.get_attribute("alt") == ALTS[0]
        # The picture fills the width of the screen, within the dialog.
        box = big.bounding_box()
        assert box is not None and box["width"] > 350 and box["x"] >= 0
        swipe(page, big, -200)  # to the left: the next picture
        expect(big).to_have_attribute("alt", ALTS[1])
        swipe(page, big, 200)
        expect(big).to_have_attribute("alt", ALTS[0])
        snap(page, "product-gallery-dialog")
        big.tap()  # zoom in where tapped
        expect(page.locator(".gallery-viewport")).to_have_class(re.compile("is-zoomed"))
        big.evaluate("(img) => img.decode()")
        zoomed = big.bounding_box()
        assert zoomed is not None and zoomed["width"] >= 900  # the whole picture, to pan around
        swipe(page, page.locator(".gallery-viewport"), -200)  # pans; does not change picture
        assert big.get_attribute("alt") == ALTS[0]
        # A tap while the pan still glides only stops it (as on any phone): wait for it to rest.
        at_rest(page, ".gallery-viewport")
        dialog.get_by_role("button", name="Close").tap()
        expect(dialog).to_be_hidden()
        expect(page.locator('.gallery-thumbs a[href="#picture-1"]')).to_be_focused()
        page.locator('.gallery-thumbs a[href="#picture-3"]').tap()
        settled(page, 3)
        assert current(page)["count"] == "3"
        snap(page, "product-gallery")
    finally:
        context.close()


def at_rest(page: Any, selector: str, timeout_s: float = 5.0) -> None:
    """Wait until the element's scroll position stops moving (a fling has ended)."""
    read = (
        f"() => {{ const e = document.querySelector({selector!r}); "
        "return [e.scrollLeft, e.scrollTop]; }"
    )
    last, deadline = page.evaluate(read), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(150)
        now = page.evaluate(read)
        if now == last:
            return
        last = now
    raise AssertionError(f"{selector} kept scrolling")


def swipe(page: Any, target: Any, dx: int) -> None:
    """A one-finger swipe across the middle of `target`, as a touch screen sends it."""
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2 - dx / 2, box["y"] + min(box["height"], 600) / 2
    session = page.context.new_cdp_session(page)
    steps = [x + dx * step / 5 for step in range(6)]
    session.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
    )
    for point in steps[1:]:
        page.wait_for_timeout(30)  # a finger's pace: touches all at once read as no gesture
        session.send(
            "Input.dispatchTouchEvent",
            {"type": "touchMove", "touchPoints": [{"x": point, "y": y}]},
        )
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


@pytest.mark.parametrize("device", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_without_javascript_a_thumbnail_brings_its_picture_into_view(
    browser, live_server, bowl, device
):
    context, page = open_page(browser, live_server, bowl, device, java_script_enabled=False)
    try:
        assert page.locator("[data-gallery].is-enhanced").count() == 0
        assert not page.locator(".gallery-stage .gallery-next").is_visible()  # nothing dead
        stage = page.locator(".gallery-stage").bounding_box()
        third = page.locator("#picture-3")
        page.locator('.gallery-thumbs a[href="#picture-3"]').click()
        assert page.url.endswith("#picture-3")
        box = third.bounding_box()
        assert box is not None and abs(box["x"] - stage["x"]) < 2  # in the frame, not beside
        # The picture links to its full-size file, which the browser shows (and zooms).
        href = page.locator("#picture-3 .gallery-zoom").get_attribute("href")
        assert href == f"/media/{bowl.images[2].image_key}"
        assert page.request.get(f"{live_server}{href}").headers["content-type"] == "image/webp"
    finally:
        context.close()
