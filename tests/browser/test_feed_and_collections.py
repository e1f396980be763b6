"""The feed uses a desktop's width and is one column on a phone; a collection sells from its
own page on a phone, crediting its curator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from app.extensions import db
from app.models import utcnow
from marketplace.order_models import CartLine
from social import posts
from social.models import CartAttribution
from tests.browser.conftest import log_in, overflow, screenshot
from tests.factories import (
    CollectionFactory,
    FollowFactory,
    PickFactory,
    ProductFactory,
    UserFactory,
)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def at_size(browser: Any, live_server: str) -> Iterator[Any]:
    """`at_size(viewport, user=None)`: a page of a browser context of that size."""
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int], user: Any | None = None) -> Any:
        context = browser.new_context(viewport=viewport, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        if user is not None:
            log_in(page, live_server, user)
        return page

    yield open_page
    for context in contexts:
        context.close()


def busy_feed() -> Any:
    """A follower of two curators: picks, a run of items added to a collection, a new one."""
    me, chloe, dev = UserFactory(), UserFactory(display_name="Chloé"), UserFactory()
    FollowFactory(follower=me, followee=chloe)
    FollowFactory(follower=me, followee=dev)
    start = utcnow() - timedelta(hours=3)
    with time_machine.travel(start, tick=False):
        calm = CollectionFactory(owner=chloe, title="Calm mornings")
    for n in range(6):
        with time_machine.travel(start + timedelta(minutes=1 + n), tick=False):
            posts.add_item(chloe, calm, ProductFactory(title=f"Calm thing {n}").id, "Lovely.")
            db.session.commit()
    for n in range(5):
        with time_machine.travel(start + timedelta(minutes=20 + n), tick=False):
            PickFactory(author=dev if n % 2 else chloe, product=ProductFactory(title=f"Pick {n}"))
    db.session.commit()
    return me


def test_the_feed_takes_most_of_a_desktops_width(live_server, at_size):
    me = busy_feed()
    page = at_size(DESKTOP, me)
    page.goto(f"{live_server}/feed")
    widths = page.evaluate(
        """() => ({
            feed: document.querySelector('.social-feed').getBoundingClientRect().width,
            main: document.querySelector('main').getBoundingClientRect().width,
            columns: getComputedStyle(document.querySelector('.feed-list'))
                .gridTemplateColumns.split(' ').length,
        })"""
    )
    assert widths["feed"] >= 0.6 * widths["main"], widths
    assert widths["columns"] >= 3, widths  # a grid of cards, not one narrow column
    # The run of six is one card, its pictures and "+3" leading.
    card = page.locator(".feed-item.feed-grouped")
    assert card.count() == 1
    assert "added 6 items to" in card.inner_text() and "Calm mornings" in card.inner_text()
    assert overflow(page) == 0
    screenshot(page, "feed")


def test_the_feed_on_a_phone_is_one_column_of_full_width_cards(live_server, at_size):
    me = busy_feed()
    page = at_size(PHONE, me)
    page.goto(f"{live_server}/feed")
    boxes = page.evaluate(
        """() => ({
            list: document.querySelector('.feed-list').getBoundingClientRect().width,
            cards: [...document.querySelectorAll('.feed-card')].map(card => {
                const box = card.getBoundingClientRect();
                return [box.left, box.width];
            }),
        })"""
    )
    assert boxes["cards"] and all(
        abs(width - boxes["list"]) < 1 and abs(left - boxes["cards"][0][0]) < 1
        for left, width in boxes["cards"]
    ), boxes
    assert overflow(page) == 0
    screenshot(page, "feed")


def test_add_to_cart_from_a_collection_on_a_phone(live_server, at_size):
    curator = UserFactory(display_name="Chloé Martin")
    mug = ProductFactory(title="Stoneware mug", price_minor=2800)
    collection = CollectionFactory(owner=curator, title="Calm mornings")
    posts.add_item(curator, collection, mug.id, "The first thing I reach for.")
    posts.add_item(curator, collection, ProductFactory(title="Oak bowl").id)
    db.session.commit()
    page = at_size(PHONE)  # a visitor who has not signed in
    page.goto(f"{live_server}/collections/{collection.id}")
    assert overflow(page) == 0
    assert page.get_by_text("The first thing I reach for.").is_visible()
    screenshot(page, "collection")
    page.get_by_role("button", name=re.compile(r"^Add to cart\s+Stoneware mug$")).click()
    page.wait_for_url(f"{live_server}/cart")
    assert "Stoneware mug" in page.content()
    db.session.rollback()
    (line,) = db.session.scalars(db.select(CartLine)).all()
    attribution = db.session.get(CartAttribution, line.id)
    assert attribution is not None and attribution.curator_id == curator.id


def test_a_persons_collections_fit_a_phone_and_a_desktop(live_server, at_size):
    owner = UserFactory()
    for title in ("Calm mornings", "Kit that lasts", "Gifts"):
        CollectionFactory(owner=owner, title=title, products=[ProductFactory() for _ in range(4)])
    for viewport in (PHONE, DESKTOP):
        page = at_size(viewport)
        page.goto(f"{live_server}/@{owner.handle}/collections")
        assert page.locator(".collection-card").count() == 3
        assert overflow(page) == 0
        screenshot(page, "person-collections")
