"""The search page on a phone and a laptop (#18): the results come first on a phone, with
the filters folded away in a panel; on a wide screen the filters sit beside the results."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LAPTOP, PHONE, overflow, screenshot
from tests.factories import ProductFactory, ShopFactory


@pytest.fixture
def mugs(app: Any) -> None:
    studio = ShopFactory(name="Atelier Duarte", slug="atelier")
    for n, colour in enumerate(("Speckled", "Blue", "Sage", "Oat", "Rust", "Charcoal")):
        ProductFactory(
            shop=studio,
            title=f"{colour} stoneware mug",
            tags="mug, stoneware",
            price_minor=2200 + 100 * n,
        )


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_on_a_phone_the_first_result_is_above_the_fold(mugs, live_server, page):
    page.goto(f"{live_server}/search?q=mugs")
    assert page.locator("h1").inner_text() == "6 results for “mugs”"
    panel = page.locator("details.search-panel")
    assert panel.get_attribute("open") is None
    assert not page.locator("#category").is_visible()
    first = page.locator(".product-grid > li").first.bounding_box()
    assert first is not None and first["y"] + first["height"] <= PHONE["height"], first
    assert overflow(page) == 0
    screenshot(page, "search-mugs")
    # The panel opens with its summary, and the filters are there.
    page.locator("details.search-panel > summary").click()
    assert page.locator("#category").is_visible()
    page.locator("#category").select_option("home")
    page.locator("#max_price").fill("24")
    page.locator(".search-filters button[type=submit]").click()
    assert page.locator("h1").inner_text() == "3 results for “mugs”"
    chips = page.locator(".filter-chip")
    assert chips.count() == 2
    # The chips say which filters apply; the panel stays closed, the results above the fold.
    assert panel.get_attribute("open") is None
    assert "(2)" in page.locator("details.search-panel > summary").inner_text()
    first = page.locator(".product-grid > li").first.bounding_box()
    assert first is not None and first["y"] + first["height"] <= PHONE["height"], first
    screenshot(page, "search-mugs-filtered")
    # A chip's link removes its filter.
    chips.nth(1).click()
    assert page.locator("h1").inner_text() == "6 results for “mugs”"


@pytest.mark.parametrize("viewport", [LAPTOP], ids=["laptop"])
def test_on_a_laptop_the_filters_sit_beside_the_results(mugs, live_server, page):
    page.goto(f"{live_server}/search?q=stonewear")
    assert page.locator("h1").inner_text() == "6 results for “stoneware”"
    assert "Showing results for stoneware" in page.locator(".search-correction").inner_text()
    assert page.locator("#category").is_visible()  # the panel's content, though closed
    assert not page.locator("details.search-panel > summary").is_visible()
    form = page.locator(".search-filters").bounding_box()
    first = page.locator(".product-grid > li").first.bounding_box()
    assert form is not None and first is not None
    assert form["x"] + form["width"] <= first["x"]  # side by side
    assert overflow(page) == 0
    screenshot(page, "search-stonewear")
    page.locator(".search-correction a", has_text="stonewear").click()
    assert page.locator("h1").inner_text() == "0 results for “stonewear”"
    assert "Did you mean stoneware?" in page.locator(".search-correction").inner_text()
