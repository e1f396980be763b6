from __future__ import annotations

import io

from app.extensions import db
from marketplace.models import Product
from social.models import FeedEvent, Pick, ShareLink
from tests.factories import PickFactory, ProductFactory, UserFactory
from tests.marketplace.helpers import image_bytes
from tests.social.helpers import as_user, fresh, page_text


def test_publish_a_pick_from_the_product_page(app, client):
    product = ProductFactory(title="Speckled mug")
    curator = UserFactory(display_name="Chloé")
    as_user(client, curator)
    page = page_text(client.get(f"/products/{product.id}"))
    assert "Pick this" in page and "No one has picked this yet." in page
    assert client.get(f"/picks/new?product={product.id}").status_code == 200
    response = client.post_form(
        "/picks/new",
        {
            "product_id": product.id,
            "note": "My morning mug.\n<script>alert(1)</script><b>Really</b> good & solid",
            "photo": (io.BytesIO(image_bytes()), "mine.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, page_text(response)[-500:]
    (pick,) = fresh(Pick)
    # No HTML gets through: tags and script contents are gone, the rest is kept as text.
    assert pick.note == "My morning mug.\nReally good & solid"
    assert pick.photo_key and pick.share_link_id
    assert [e.kind for e in fresh(FeedEvent)] == ["pick"]
    assert db.session.get(Product, product.id).popularity == 5
    shown = page_text(client.get(f"/picks/{pick.id}"))
    assert "Really good &amp; solid" in shown and "<script>" not in shown
    link = db.session.get(ShareLink, pick.share_link_id)
    assert f"/s/{link.code}" in shown  # the product link attributes through the pick
    assert "Chloé" in page_text(client.get(f"/products/{product.id}"))


def test_note_length_and_duplicates(app, client):
    product = ProductFactory()
    as_user(client, UserFactory())
    too_long = client.post_form("/picks/new", {"product_id": product.id, "note": "x" * 1001})
    assert too_long.status_code == 422 and "at most 1000" in page_text(too_long)
    assert (
        client.post_form("/picks/new", {"product_id": product.id, "note": "ok"}).status_code == 302
    )
    again = client.post_form("/picks/new", {"product_id": product.id, "note": "again"})
    assert again.status_code == 422 and "already picked" in page_text(again)
    api = client.api("POST", "/api/v1/picks", json={"product_id": product.id, "note": "x"})
    assert api.status_code == 409
    assert len(fresh(Pick)) == 1


def test_only_listed_products_can_be_picked(app, client):
    draft = ProductFactory(status="draft")
    as_user(client, UserFactory())
    assert client.get(f"/picks/new?product={draft.id}").status_code == 404
    assert client.api("POST", "/api/v1/picks", json={"product_id": draft.id}).status_code == 404


def test_edit_and_delete_a_pick(app, client):
    pick = PickFactory(note="First words")
    as_user(client, pick.author)
    assert client.post_form(f"/picks/{pick.id}/edit", {"note": "Better words"}).status_code == 302
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Pick, pick.id).note == "Better words"
    assert client.post_form(f"/picks/{pick.id}/delete").status_code == 302
    assert fresh(Pick) == [] and fresh(FeedEvent) == []


def test_others_cannot_edit_or_delete(app, client):
    pick = PickFactory()
    as_user(client, UserFactory())
    assert client.post_form(f"/picks/{pick.id}/edit", {"note": "mine now"}).status_code == 403
    assert client.post_form(f"/picks/{pick.id}/delete").status_code == 403
    assert client.api("PATCH", f"/api/v1/picks/{pick.id}", json={"note": "x"}).status_code == 403
    assert len(fresh(Pick)) == 1


def test_profile_shows_picks_and_collections(app, client):
    pick = PickFactory(note="Lovely")
    page = page_text(client.get(f"/@{pick.author.handle}"))
    assert "Picks" in page and pick.product.title in page and "Lovely" in page
    assert pick.product.title in page_text(client.get(f"/@{pick.author.handle}/picks"))
    api = client.get(f"/api/v1/people/{pick.author.handle}/picks").get_json()
    assert [p["note"] for p in api["items"]] == ["Lovely"]


def test_deleting_the_product_takes_its_picks_away(app, client):
    pick = PickFactory()
    product = pick.product
    as_user(client, product.shop.owner)
    assert client.post_form(f"/account/shop/products/{product.id}/delete").status_code == 302
    db.session.expire_all()
    assert fresh(Pick) == [] and fresh(FeedEvent) == []
