"""The Saved page and /api/v1/me/saved: what a person liked, products first."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from app.extensions import db
from app.models import utcnow
from social import reactions, saved
from social.models import Like, Target
from tests.factories import CollectionFactory, PickFactory, ProductFactory, UserFactory
from tests.social.helpers import as_user, fresh, page_text


def like(user, target_type, target_id, minutes_ago):
    """A like made some minutes ago (the page orders by when things were saved)."""
    with time_machine.travel(utcnow() - timedelta(minutes=minutes_ago), tick=False):
        db.session.add(Like(user_id=user.id, target_type=target_type, target_id=target_id))
        db.session.commit()


def titles_in_order(html, titles):
    positions = {title: html.index(title) for title in titles}
    return sorted(titles, key=positions.__getitem__)


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/saved")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/me/saved").status_code == 401


def test_the_empty_page_says_how_to_save_things(client):
    as_user(client, UserFactory())
    html = page_text(client.get("/saved"))
    assert "Nothing saved yet" in html and "Like on a product" in html
    assert 'href="/saved"' in html  # the header's link (the navigation)


def test_products_first_newest_saved_first_then_picks_and_collections(client):
    shopper = UserFactory()
    old_bowl = ProductFactory(title="Old bowl")
    new_mug = ProductFactory(title="New mug")
    sold_out = ProductFactory(title="Gone vase", stock=0)
    pick = PickFactory(product=ProductFactory(title="Picked apron"))
    collection = CollectionFactory(title="Slow mornings")
    like(shopper, Target.COLLECTION, collection.id, 1)  # the newest like, but not a product
    like(shopper, Target.PICK, pick.id, 5)
    like(shopper, Target.PRODUCT, old_bowl.id, 30)
    like(shopper, Target.PRODUCT, new_mug.id, 10)
    like(shopper, Target.PRODUCT, sold_out.id, 20)
    as_user(client, shopper)
    html = page_text(client.get("/saved"))
    order = ["New mug", "Gone vase", "Old bowl", "Slow mornings", "Picked apron"]
    assert titles_in_order(html, order) == order
    vase = html[html.index("Gone vase") - 1500 : html.index("Gone vase") + 800]
    assert "saved-card-sold-out" in vase and "Sold out" in vase
    assert "€25.00" in html and "Only 3 left" in html  # price and stock on each card

    api = client.get("/api/v1/me/saved").get_json()
    kinds = [
        (i["kind"], (i["product"] or i["pick"] or i["collection"]).get("id")) for i in api["items"]
    ]
    assert kinds == [
        ("product", new_mug.id),
        ("product", sold_out.id),
        ("product", old_bowl.id),
        ("collection", collection.id),
        ("pick", pick.id),
    ]
    vase_item = api["items"][1]["product"]
    assert vase_item["in_stock"] is False and vase_item["stock_total"] == 0
    assert api["items"][4]["pick"]["product"]["title"] == "Picked apron"
    assert api["has_next"] is False and api["page"] == 1


def test_unsave_takes_it_off_the_page(client):
    shopper = UserFactory()
    bowl = ProductFactory(title="Speckled bowl")
    as_user(client, shopper)
    client.post_form(f"/like/product/{bowl.id}")
    assert "Speckled bowl" in page_text(client.get("/saved"))
    response = client.post_form(f"/like/product/{bowl.id}", {"undo": "1", "next": "/saved"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/saved")
    assert fresh(Like, user_id=shopper.id) == []
    assert "Speckled bowl" not in page_text(client.get("/saved"))


def test_pages_of_saved_things(app, client):
    shopper = UserFactory()
    shop_products = [ProductFactory(title=f"Thing {n:02d}") for n in range(saved.PAGE_SIZE + 2)]
    for minutes, product in enumerate(shop_products):
        like(shopper, Target.PRODUCT, product.id, minutes)  # Thing 00 is the newest
    as_user(client, shopper)
    first = page_text(client.get("/saved"))
    assert "Thing 00" in first and f"Thing {saved.PAGE_SIZE - 1:02d}" in first
    assert f"Thing {saved.PAGE_SIZE:02d}" not in first and "page=2" in first
    second = page_text(client.get("/saved?page=2"))
    assert f"Thing {saved.PAGE_SIZE:02d}" in second and f"Thing {saved.PAGE_SIZE + 1:02d}" in second
    assert "Thing 00" not in second
    api = client.get("/api/v1/me/saved?page=2&per_page=5").get_json()
    assert [i["product"]["title"] for i in api["items"]] == [f"Thing {n:02d}" for n in range(5, 10)]
    assert api["has_prev"] and api["has_next"]
    bad = client.get("/api/v1/me/saved?per_page=0")
    assert bad.status_code == 422 and bad.content_type.startswith("application/problem+json")
    assert client.get("/saved?page=nonsense").status_code == 200


def test_what_others_made_private_or_hidden_is_never_shown(client):
    shopper = UserFactory()
    owner = UserFactory()
    private = CollectionFactory(owner=owner, title="Secret shelf")
    mine = CollectionFactory(owner=shopper, title="My own private list", is_public=False)
    draft = ProductFactory(title="Unlisted teapot")
    hidden_pick = PickFactory(product=ProductFactory(title="Hidden pick product"))
    suspended_author = UserFactory()
    their_pick = PickFactory(author=suspended_author, product=ProductFactory(title="Banned pick"))
    for target_type, target_id in [
        (Target.COLLECTION, private.id),
        (Target.COLLECTION, mine.id),
        (Target.PRODUCT, draft.id),
        (Target.PICK, hidden_pick.id),
        (Target.PICK, their_pick.id),
    ]:
        reactions_like = Like(user_id=shopper.id, target_type=target_type, target_id=target_id)
        db.session.add(reactions_like)
    # Afterwards: the collection goes private, the product back to draft, the pick hidden,
    # the other author suspended.
    from social.models import Suspension

    private.is_public = False
    draft.status = "draft"
    draft.listed = False
    hidden_pick.hidden_at = utcnow()
    db.session.add(Suspension(user_id=suspended_author.id))
    db.session.commit()
    as_user(client, shopper)
    html = page_text(client.get("/saved"))
    assert "My own private list" in html  # one's own private collection stays
    for gone in ("Secret shelf", "Unlisted teapot", "Hidden pick product", "Banned pick"):
        assert gone not in html
    api = client.get("/api/v1/me/saved").get_json()
    assert [i["kind"] for i in api["items"]] == ["collection"]
    assert api["items"][0]["collection"]["title"] == "My own private list"
    assert reactions.liked(shopper, Target.COLLECTION, private.id)  # kept, just not shown


def test_someone_elses_saved_things_stay_theirs(client):
    other = UserFactory()
    like(other, Target.PRODUCT, ProductFactory(title="Their lamp").id, 1)
    as_user(client, UserFactory())
    assert "Their lamp" not in page_text(client.get("/saved"))
    assert client.get("/api/v1/me/saved").get_json()["items"] == []


def test_saved_pictures_come_in_every_stored_width(client):
    """The saved grid is image-first like every product grid: the browser picks the width it
    draws (srcset and sizes), not the 400-pixel picture on every screen."""
    shopper = UserFactory()
    mug = ProductFactory(title="Wide mug")
    mug.cover_key = "ab/mug-400.webp"
    mug.cover_sizes = {"200": "ab/mug-200.webp", "400": "ab/mug-400.webp", "800": "ab/mug-800.webp"}
    db.session.commit()
    like(shopper, Target.PRODUCT, mug.id, 1)
    as_user(client, shopper)
    html = page_text(client.get("/saved"))
    img = html[html.index('src="/media/ab/mug-400.webp"') - 10 :].split(">", 1)[0]
    assert 'srcset="/media/ab/mug-200.webp 200w, /media/ab/mug-400.webp 400w, ' in img
    assert 'sizes="' in img and "46vw" in img and 'loading="lazy"' in img
