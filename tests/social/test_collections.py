from __future__ import annotations

from app.extensions import db
from social.models import Collection, CollectionItem, FeedEvent
from tests.factories import CollectionFactory, ProductFactory, UserFactory
from tests.social.helpers import as_user, fresh, page_text


def test_build_a_collection_from_product_pages(app, client):
    owner = UserFactory()
    mug, bowl, jacket = (ProductFactory(title=t) for t in ("Mug", "Bowl", "Jacket"))
    as_user(client, owner)
    created = client.post_form(
        "/collections/new",
        {"title": "Calm <em>mornings</em>", "description": "Slow", "is_public": "y"},
    )
    assert created.status_code == 302
    (collection,) = fresh(Collection)
    assert collection.title == "Calm mornings"
    for product in (mug, bowl):
        response = client.post_form(
            "/collections/add",
            {
                "product_id": product.id,
                "collection_id": collection.id,
                "note": "so good",
                "next": f"/products/{product.id}",
            },
        )
        assert response.status_code == 302 and response.headers["Location"].endswith(
            f"/products/{product.id}"
        )
    # ...or straight into a new collection named on the product page.
    client.post_form(
        "/collections/add", {"product_id": jacket.id, "collection_id": 0, "new_title": "Denim"}
    )
    assert sorted(c.title for c in fresh(Collection)) == ["Calm mornings", "Denim"]
    page = page_text(client.get(f"/collections/{collection.id}"))
    assert page.index("Mug") < page.index("Bowl") and "so good" in page
    # The product links go through the owner's share link.
    assert f"/s/{collection.share_link.code}?p={mug.id}" in page
    # Reorder without JavaScript: move the bowl up.
    client.post_form(f"/collections/{collection.id}/items/{bowl.id}/up")
    page = page_text(client.get(f"/collections/{collection.id}"))
    assert page.index("Bowl") < page.index("Mug")
    # ...and through the API.
    response = client.api(
        "PUT", f"/api/v1/collections/{collection.id}/order", json={"product_ids": [mug.id, bowl.id]}
    )
    assert [i["product"]["title"] for i in response.get_json()["items"]] == ["Mug", "Bowl"]
    bad = client.api(
        "PUT", f"/api/v1/collections/{collection.id}/order", json={"product_ids": [mug.id]}
    )
    assert bad.status_code == 422
    kinds = sorted(e.kind for e in fresh(FeedEvent))
    assert kinds.count("collection_item") == 3 and kinds.count("collection") == 2
    client.post_form(f"/collections/{collection.id}/items/{mug.id}/remove")
    db.session.commit()
    assert db.session.get(Collection, collection.id).item_count == 1
    assert len(fresh(CollectionItem, collection_id=collection.id)) == 1


def test_private_collections_are_invisible_to_others(app, client):
    private = CollectionFactory(title="Secret", is_public=False, products=[ProductFactory()])
    assert client.get(f"/collections/{private.id}").status_code == 404
    assert client.get(f"/api/v1/collections/{private.id}").status_code == 404
    as_user(client, UserFactory())
    assert client.get(f"/collections/{private.id}").status_code == 404
    assert client.get(f"/api/v1/collections/{private.id}").status_code == 404
    assert "Secret" not in page_text(client.get(f"/@{private.owner.handle}"))
    assert (
        client.api(
            "POST",
            "/api/v1/share-links",
            json={"target_type": "collection", "target_id": private.id},
        ).status_code
        == 404
    )
    assert client.api("PUT", f"/api/v1/likes/collection/{private.id}").status_code == 404
    client.post_form("/logout")
    as_user(client, private.owner)
    assert "Secret" in page_text(client.get(f"/collections/{private.id}"))
    assert client.get(f"/api/v1/collections/{private.id}").status_code == 200


def test_private_collections_stay_out_of_feeds(app, client):
    from tests.factories import FollowFactory

    private = CollectionFactory(
        title="Secret", is_public=False, products=[ProductFactory(title="Hidden thing")]
    )
    fan = UserFactory()
    FollowFactory(follower=fan, followee=private.owner)
    as_user(client, fan)
    page = page_text(client.get("/feed"))
    assert "Secret" not in page and "Hidden thing" not in page


def test_only_the_owner_changes_a_collection(app, client):
    collection = CollectionFactory()
    product = ProductFactory()
    as_user(client, UserFactory())
    assert (
        client.post_form(f"/collections/{collection.id}/edit", {"title": "Mine"}).status_code == 403
    )
    assert (
        client.api(
            "POST", f"/api/v1/collections/{collection.id}/items", json={"product_id": product.id}
        ).status_code
        == 403
    )
    db.session.commit()
    assert db.session.get(Collection, collection.id).title != "Mine"


def test_collection_api_round_trip(app, client):
    owner = UserFactory()
    product = ProductFactory(title="Wool hat")
    as_user(client, owner)
    made = client.api("POST", "/api/v1/collections", json={"title": "Winter", "is_public": True})
    assert made.status_code == 201
    collection_id = made.get_json()["id"]
    added = client.api(
        "POST",
        f"/api/v1/collections/{collection_id}/items",
        json={"product_id": product.id, "note": "<i>warm</i>"},
    )
    assert added.status_code == 201 and added.get_json()["note"] == "warm"
    assert (
        client.api(
            "POST", f"/api/v1/collections/{collection_id}/items", json={"product_id": product.id}
        ).status_code
        == 409
    )
    body = client.get(f"/api/v1/collections/{collection_id}").get_json()
    assert body["item_count"] == 1 and body["items"][0]["link"].startswith("http://kindred.test/s/")
    patched = client.api("PATCH", f"/api/v1/collections/{collection_id}", json={"is_public": False})
    assert patched.get_json()["is_public"] is False
    assert client.api("DELETE", f"/api/v1/collections/{collection_id}").status_code == 204
    assert fresh(Collection) == []
