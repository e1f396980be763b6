"""The Saved page in a browser, on a phone and a laptop: it fits the window, shows the sold-out
mark and the price before a drop, and an Unsave (no JavaScript needed) takes a thing off."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from social.models import Like, Target
from tests.browser.conftest import open_menu, overflow, screenshot
from tests.factories import CollectionFactory, PickFactory, ProductFactory, UserFactory


def test_the_saved_page_fits_and_unsaves(app: Any, open_as: Any, live_server: str) -> None:
    shopper = UserFactory()
    products = [
        ProductFactory(title="Speckled stoneware mug with a long name that wraps", stock=1),
        ProductFactory(title="Linen apron", stock=0),
        ProductFactory(title="Paper lamp", price_minor=4200),
    ]
    pick = PickFactory(product=ProductFactory(title="Picked wool socks"))
    collection = CollectionFactory(title="Calm mornings")
    for target_type, target_id in [
        *[(Target.PRODUCT, p.id) for p in products],
        (Target.PICK, pick.id),
        (Target.COLLECTION, collection.id),
    ]:
        db.session.add(Like(user_id=shopper.id, target_type=target_type, target_id=target_id))
    db.session.commit()
    page = open_as(shopper)
    open_menu(page)  # on a phone, the header's links are in its menu
    page.get_by_role("link", name="Saved", exact=True).first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/saved")
    assert page.get_by_role("heading", name="Products").count() == 1
    assert page.locator(".saved-card-sold-out").count() == 1
    assert page.get_by_role("heading", name="Picks and collections").count() == 1
    assert overflow(page) == 0
    screenshot(page, "saved")
    page.get_by_role("button", name="Unsave “Paper lamp”").click()
    page.wait_for_load_state()
    assert page.url.endswith("/saved")
    assert page.get_by_text("Paper lamp").count() == 0
    assert page.get_by_text("Linen apron").count() >= 1
