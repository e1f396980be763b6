from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from app.models import utcnow
from social import feed
from tests.factories import (
    CollectionFactory,
    FollowFactory,
    PickFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
)
from tests.marketplace.helpers import count_queries

# Every test runs twice: from the database and from Redis timelines.
from tests.social.both_paths import app_config, timelines  # noqa: F401 - fixtures
from tests.social.helpers import as_user, page_text


def followed_curator(me):
    curator = UserFactory()
    FollowFactory(follower=me, followee=curator)
    return curator


def test_the_feed_shows_what_followed_people_did_newest_first(app, client):
    me = UserFactory()
    curator = followed_curator(me)
    stranger = UserFactory()
    seller_shop = ShopFactory()
    FollowFactory(follower=me, followee=seller_shop.owner)
    start = utcnow()
    with time_machine.travel(start - timedelta(hours=3)):
        PickFactory(author=curator, product=ProductFactory(title="Old pick"))
    with time_machine.travel(start - timedelta(hours=2)):
        CollectionFactory(
            owner=curator, title="Slow living", products=[ProductFactory(title="Linen")]
        )
    with time_machine.travel(start - timedelta(hours=1)):
        ProductFactory(shop=seller_shop, title="Fresh from the shop")
    PickFactory(author=stranger, product=ProductFactory(title="Not for me"))
    page = feed.home_feed(me)
    assert [item.kind for item in page.items] == [
        "product",
        "collection_item",
        "collection",
        "pick",
    ]
    as_user(client, me)
    html = page_text(client.get("/feed"))
    assert html.index("Fresh from the shop") < html.index("Slow living") < html.index("Old pick")
    assert "Not for me" not in html


def test_load_more_walks_the_feed_without_gaps_or_repeats(app, client):
    me = UserFactory()
    curators = [followed_curator(me) for _ in range(3)]
    start = utcnow()
    expected = []
    for n in range(13):
        # Some events share an instant: the cursor's tie-breaker keeps them apart.
        with time_machine.travel(start - timedelta(minutes=n // 2), tick=False):
            pick = PickFactory(author=curators[n % 3], product=ProductFactory(title=f"Thing {n}"))
            expected.append(pick.id)
    seen = []
    cursor = None
    while True:
        page = feed.home_feed(me, cursor, size=4)
        seen.extend(item.pick.id for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    # The page's link is a plain link with the cursor in the query string.
    as_user(client, me)
    app.config["SOCIAL_FEED_PAGE"] = 4
    html = page_text(client.get("/feed"))
    match = re.search(r'href="(/feed\?cursor=[^"]+)"', html)
    assert match and client.get(match.group(1).replace("&amp;", "&")).status_code == 200
    assert client.get("/feed?cursor=garbage").status_code == 200


def test_a_new_user_gets_trending_picks_and_suggested_curators(app, client):
    curator = UserFactory(display_name="Busy Curator")
    PickFactory(author=curator, product=ProductFactory(title="Popular lamp"))
    as_user(client, UserFactory())
    html = page_text(client.get("/feed"))
    assert "Follow curators and friends" in html
    assert "Popular lamp" in html and "Busy Curator" in html
    api = client.get("/api/v1/feed").get_json()
    assert api["items"] == [] and api["trending_picks"][0]["product"]["title"] == "Popular lamp"
    assert api["suggestions"][0]["handle"] == curator.handle


def test_the_feed_through_the_api_pages_with_the_cursor(app, client):
    me = UserFactory()
    curator = followed_curator(me)
    for n in range(5):
        PickFactory(author=curator, product=ProductFactory(title=f"P{n}"))
    as_user(client, me)
    first = client.get("/api/v1/feed?per_page=3").get_json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    assert first["items"][0]["link"].startswith("http://kindred.test/s/")
    second = client.get(f"/api/v1/feed?per_page=3&cursor={first['next_cursor']}").get_json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    client.post_form("/logout")
    assert client.get("/api/v1/feed").status_code == 401


def test_a_feed_page_costs_the_same_queries_whatever_its_size(app, client):
    me = UserFactory()
    curators = [followed_curator(me) for _ in range(4)]
    shop = ShopFactory()
    FollowFactory(follower=me, followee=shop.owner)
    for n in range(24):
        PickFactory(
            author=curators[n % 4],
            product=ProductFactory(shop=shop if n % 5 == 0 else ShopFactory()),
        )
        if n % 6 == 0:
            CollectionFactory(owner=curators[n % 4], products=[ProductFactory()])
    as_user(client, me)
    client.get("/feed")  # warm up the session's user

    def queries(url: str) -> int:
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    app.config["SOCIAL_FEED_PAGE"] = 3
    small = queries("/feed")
    app.config["SOCIAL_FEED_PAGE"] = 20
    large = queries("/feed")
    assert small == large, (small, large)
    assert large <= 16
    assert queries("/api/v1/feed?per_page=3") == queries("/api/v1/feed?per_page=20")


def test_shared_purchases_appear_in_followers_feeds_and_attribute(app, client, emulator):
    from social import notifications
    from social.attribution import credits_for_checkout_lines
    from tests.marketplace.shopping import buy

    ana = UserFactory(display_name="Ana")
    friend = UserFactory()
    FollowFactory(follower=friend, followee=ana)
    bowl = ProductFactory(title="Blue bowl", shop=ShopFactory(name="Studio"))
    quiet = UserFactory(display_name="Quiet")
    FollowFactory(follower=friend, followee=quiet)
    notifications.update_settings(ana, share_purchases=True)
    from app.extensions import db

    db.session.commit()
    buy(client, ana, bowl)
    buy(app.test_client(), quiet, bowl)  # did not choose to share: nothing in the feed
    client.post_form("/logout")
    as_user(client, friend)
    html = page_text(client.get("/feed"))
    card = html[html.index('class="feed-item feed-purchase') :]
    card = card[: card.index("</article>")]
    assert "<span>Ana</span>" in card and "bought from Studio" in card and "Blue bowl" in card
    assert html.count("bought from") == 1 and "Quiet" not in html
    # Its link credits Ana like a pick would.
    code = re.search(r'href="/s/([^"?]+)"', html).group(1)
    friend_client = app.test_client()
    friend_client.get(f"/s/{code}")
    checkout = buy(friend_client, friend, bowl)
    credits = credits_for_checkout_lines([line.id for line in checkout.lines])
    assert [c.curator_id for c in credits.values()] == [ana.id]


def test_feed_items_are_rendered_once_for_all_with_each_ones_likes(app, client, monkeypatch):
    from app import page_parts
    from social import reactions
    from social.models import Target
    from tests.conftest import KindredClient

    curator = UserFactory(display_name="Cleo Curator")
    picks = [PickFactory(author=curator, note=f"Note {n}") for n in range(3)]
    ann, bob = UserFactory(), UserFactory()
    for fan in (ann, bob):
        FollowFactory(follower=fan, followee=curator)
    reactions.like(bob, Target.PICK, picks[1].id)
    from app.extensions import db

    db.session.commit()
    as_user(client, ann)
    client.get("/feed")  # the welcome message
    first = page_text(client.get("/feed"))
    assert all(f"Note {n}" in first for n in range(3))
    assert 'aria-pressed="true"' not in first

    rendered: list[str] = []
    real = page_parts.render_fragments
    monkeypatch.setattr(
        page_parts, "render_fragments", lambda name, c: rendered.append(name) or real(name, c)
    )
    other = KindredClient(app, client.response_wrapper)
    as_user(other, bob)
    other.get("/feed")
    html = page_text(other.get("/feed"))
    assert rendered == []  # every item came as Ann's page left it
    assert all(f"Note {n}" in html for n in range(3))
    assert html.count('aria-pressed="true"') == 1  # Bob's own like, on the second pick
    assert "kindred-part-" not in html
    # An edited note is a public change: the items are rendered again, at once.
    picks[0].note = "Edited note"
    db.session.commit()
    html = page_text(client.get("/feed"))
    assert "Edited note" in html and "Note 0" not in html
    assert rendered
