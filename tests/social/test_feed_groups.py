"""The feed groups one person's run of events on one thing into a card ("Chloé added 6 items to
Calm mornings"), the same way from the database and from the timelines, and its pages never
lose or repeat an item of a group."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from app.extensions import db
from app.models import utcnow
from social import feed, posts
from tests.factories import (
    CollectionFactory,
    FollowFactory,
    PickFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
)

# Every test runs twice: from the database and from Redis timelines.
from tests.social.both_paths import app_config, timelines  # noqa: F401 - fixtures
from tests.social.helpers import as_user, page_text


def follower_of(*people: Any) -> Any:
    me = UserFactory()
    for person in people:
        FollowFactory(follower=me, followee=person)
    return me


def add(curator: Any, collection: Any, *titles: str, at: Any = None, step: int = 1) -> None:
    """Put new products in the collection, `step` minutes apart from `at` (default: now)."""
    start = at or utcnow()
    for n, title in enumerate(titles):
        with time_machine.travel(start + timedelta(minutes=n * step), tick=False):
            posts.add_item(curator, collection, ProductFactory(title=title).id)
    db.session.commit()


def shape(page: feed.FeedPage) -> list[tuple[str, int]]:
    return [(card.kind, card.count) for card in page.cards]


def every_page(viewer: Any, size: int) -> list[feed.FeedPage]:
    pages, cursor = [], None
    while True:
        page = feed.home_feed(viewer, cursor, size)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_a_run_of_items_added_to_one_collection_is_one_card(app, client):
    chloe = UserFactory(display_name="Chloé")
    me = follower_of(chloe)
    start = utcnow() - timedelta(hours=2)
    with time_machine.travel(start - timedelta(minutes=5), tick=False):
        calm = CollectionFactory(owner=chloe, title="Calm mornings")
    add(chloe, calm, *(f"Thing {n}" for n in range(6)), at=start)
    page = feed.home_feed(me)
    assert shape(page) == [("collection_item", 6), ("collection", 1)]
    # Newest first inside the card too.
    assert [p.title for p in page.cards[0].products] == [f"Thing {n}" for n in range(5, -1, -1)]
    as_user(client, me)
    html = page_text(client.get("/feed"))
    card = html[html.index('class="feed-item feed-collection_item') :]
    card = card[: card.index("</article>")]
    assert "added 6 items to" in card and "Calm mornings" in card
    # A few thumbnails and "+N" for the rest.
    assert len(re.findall(r'<li><a href="/s/', card)) == 3
    assert "+3" in card and "3 more" in card


def test_two_items_are_a_card_of_two_and_one_is_a_plain_card(app, client):
    chloe = UserFactory()
    me = follower_of(chloe)
    start = utcnow() - timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        first = CollectionFactory(owner=chloe, title="Pair")
    add(chloe, first, "Left", "Right", at=start + timedelta(minutes=1))
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        second = CollectionFactory(owner=chloe, title="Solo")
    add(chloe, second, "Only one", at=start + timedelta(minutes=31))
    assert shape(feed.home_feed(me)) == [
        ("collection_item", 1),
        ("collection", 1),
        ("collection_item", 2),
        ("collection", 1),
    ]
    as_user(client, me)
    html = page_text(client.get("/feed"))
    assert "added 2 items to" in html and "Only one" in html
    assert 'class="feed-more"' not in html  # two pictures, no "+N"


def test_items_further_apart_than_the_window_are_separate_cards(app):
    chloe = UserFactory()
    me = follower_of(chloe)
    start = utcnow() - timedelta(days=3)
    with time_machine.travel(start - timedelta(minutes=1), tick=False):
        calm = CollectionFactory(owner=chloe)
    # Two now, two a day and an hour later: the window is counted from a card's newest item.
    add(chloe, calm, "A1", "B1", at=start)
    add(chloe, calm, "C1", "D1", at=start + feed.GROUP_WINDOW + timedelta(hours=1))
    assert shape(feed.home_feed(me)) == [
        ("collection_item", 2),
        ("collection_item", 2),
        ("collection", 1),
    ]
    # A window wider than the run's 25 hours: one card.
    app.config["FEED_GROUP_WINDOW_MINUTES"] = 60 * 50
    assert shape(feed.home_feed(me)) == [("collection_item", 4), ("collection", 1)]


def test_other_kinds_targets_and_people_are_not_merged(app):
    chloe, dev = UserFactory(), UserFactory()
    shop = ShopFactory(owner=chloe)
    me = follower_of(chloe, dev)
    start = utcnow() - timedelta(hours=3)
    with time_machine.travel(start, tick=False):
        calm = CollectionFactory(owner=chloe, title="Calm")
        kit = CollectionFactory(owner=chloe, title="Kit")
        devs = CollectionFactory(owner=dev, title="Dev's")
    at = start + timedelta(minutes=10)
    add(chloe, calm, "c1", "c2", at=at)  # a run of two
    add(chloe, kit, "k1", at=at + timedelta(minutes=5))  # another collection
    add(dev, devs, "d1", at=at + timedelta(minutes=6))  # another person
    add(chloe, kit, "k2", at=at + timedelta(minutes=7))  # the run was broken by Dev
    with time_machine.travel(at + timedelta(minutes=8), tick=False):
        PickFactory(author=chloe, product=ProductFactory(title="Picked"))  # a pick stays alone
    with time_machine.travel(at + timedelta(minutes=9), tick=False):
        PickFactory(author=chloe, product=ProductFactory(title="Picked too"))
    with time_machine.travel(at + timedelta(minutes=10), tick=False):
        ProductFactory(shop=shop, title="New 1")  # her shop's new products: a run of their own
    with time_machine.travel(at + timedelta(minutes=11), tick=False):
        ProductFactory(shop=shop, title="New 2")
    page = feed.home_feed(me)
    assert shape(page)[:6] == [
        ("product", 2),
        ("pick", 1),
        ("pick", 1),
        ("collection_item", 1),
        ("collection_item", 1),
        ("collection_item", 1),
    ]
    assert shape(page)[6] == ("collection_item", 2)
    assert [c.collection.title for c in page.items if c.kind == "collection_item"] == [
        "Kit",
        "Dev's",
        "Kit",
        "Calm",
        "Calm",
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 10, 20])
def test_pages_never_lose_or_repeat_an_item_of_a_group(app, size):
    chloe, dev = UserFactory(), UserFactory()
    me = follower_of(chloe, dev)
    start = utcnow() - timedelta(hours=5)
    with time_machine.travel(start, tick=False):
        calm = CollectionFactory(owner=chloe)
        kit = CollectionFactory(owner=dev)
    at = start + timedelta(minutes=1)
    add(chloe, calm, *(f"a{n}" for n in range(3)), at=at)
    add(dev, kit, *(f"b{n}" for n in range(7)), at=at + timedelta(minutes=10))
    add(chloe, calm, *(f"c{n}" for n in range(2)), at=at + timedelta(minutes=30))
    everything = feed.home_feed(me, None, 50)
    assert shape(everything) == [
        ("collection_item", 2),
        ("collection_item", 7),
        ("collection_item", 3),
        ("collection", 1),
        ("collection", 1),
    ]
    pages = every_page(me, size)
    walked = [item.cursor for page in pages for item in page.items]
    assert walked == [item.cursor for item in everything.items]  # none lost, none twice
    for page in pages:
        # A page's cards are its items, and never more items than the page size.
        assert [i.cursor for card in page.cards for i in card.items] == [
            i.cursor for i in page.items
        ]
        assert 1 <= len(page.items) <= size
    cards = [len(card.items) for page in pages for card in page.cards]
    assert sum(cards) == 14 and all(n <= size for n in cards)
    layout = [[len(c.items) for c in page.cards] for page in pages]
    if size == 20:
        assert layout == [[2, 7, 3, 1, 1]]
    if size == 10:
        # The run of 3 would be cut by the page's end: it moves to the next page whole.
        assert layout == [[2, 7], [3, 1, 1]]
    if size == 5:
        # Moving the run of 7 would leave the first page with 2 items, less than half: it is
        # cut, and goes on as a card of its own; the run of 3 then moves whole.
        assert layout == [[2, 3], [4], [3, 1, 1]]


def test_a_card_says_the_day_as_a_feed_does_with_the_time_on_hover(client):
    """ "Dec 7" (or "7 déc." in French), not "12/7/26, 9:05 AM"; another year's date says its
    year; the full date and time are in the title, and the machine-readable one in datetime."""
    curator = UserFactory()
    collection = CollectionFactory(owner=curator, title="Calm mornings")
    with time_machine.travel("2026-12-07 09:05:00+00:00", tick=False):
        add(curator, collection, "Stoneware mug")
    with time_machine.travel("2025-03-02 10:00:00+00:00", tick=False):
        PickFactory(author=curator, product=ProductFactory(title="Old pick"))
    as_user(client, follower_of(curator))
    with time_machine.travel("2026-12-08 10:00:00+00:00", tick=False):
        english = page_text(client.get("/feed", headers={"Accept-Language": "en-US"}))
        french = page_text(client.get("/feed", headers={"Accept-Language": "fr-FR"}))
    times = re.findall(r"<time [^>]*>[^<]*</time>", english)
    assert any('datetime="2026-12-07T09:05:00' in t and ">Dec 7<" in t for t in times), times
    assert any(">Mar 2, 2025<" in t for t in times), times
    assert any("title=" in t and "9:05" in t for t in times), times
    assert "12/7/26" not in english
    assert ">7 déc.<" in french


def test_an_idea_with_pictures_leads_with_its_first_one(client):
    from social import ideas
    from tests.factories import CallFactory, MemberFactory
    from tests.marketplace.helpers import image_bytes

    author = MemberFactory()
    call = CallFactory()
    drawn = ideas.submit_idea(
        author, call.shop, "Deep ramen bowl", "With a chopstick rest.", [image_bytes()], call=call
    )
    ideas.submit_idea(author, call.shop, "Words only", "No picture yet.", call=call)
    db.session.commit()
    as_user(client, follower_of(author))
    html = page_text(client.get("/feed"))
    card = html[: html.index("Deep ramen bowl</a>")].rsplit('<li class="feed-item', 1)[1]
    assert f'src="/media/{drawn.cover_key}"' in card
    assert f'href="/ideas/{drawn.id}"' in card
    words = html[: html.index("Words only")].rsplit('<li class="feed-item', 1)[1]
    assert "feed-tile" in words and "<img" not in words  # the title stands in for a picture
