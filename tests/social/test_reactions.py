from __future__ import annotations

from app.extensions import db
from marketplace.models import Product
from social.models import Comment, Like, Notification, Pick
from tests.factories import CollectionFactory, PickFactory, ProductFactory, UserFactory
from tests.social.helpers import as_user, fresh, page_text


def test_like_a_pick_a_collection_and_a_product(app, client, outbox):
    pick = PickFactory()
    collection = CollectionFactory()
    product = ProductFactory()
    fan = UserFactory(display_name="Fan")
    as_user(client, fan)
    for kind, target_id in (
        ("pick", pick.id),
        ("collection", collection.id),
        ("product", product.id),
    ):
        assert client.post_form(f"/like/{kind}/{target_id}", {"next": "/feed"}).status_code == 302
        client.post_form(f"/like/{kind}/{target_id}")  # twice is harmless
    assert len(fresh(Like)) == 3
    db.session.expire_all()
    assert db.session.get(Pick, pick.id).like_count == 1
    assert db.session.get(Product, product.id).popularity == 1
    assert db.session.get(Product, pick.product_id).popularity == 5 + 1
    assert {n.recipient_id for n in fresh(Notification, kind="like")} == {
        pick.author_id,
        collection.owner_id,
    }
    assert any(m["Subject"].startswith("Fan liked") for m in outbox())
    assert "Liked" in page_text(client.get(f"/picks/{pick.id}"))
    client.post_form(f"/like/pick/{pick.id}", {"undo": "1"})
    db.session.expire_all()
    assert db.session.get(Pick, pick.id).like_count == 0
    api = client.api("PUT", f"/api/v1/likes/pick/{pick.id}")
    assert api.status_code == 200 and api.get_json() == {"liked": True}
    assert client.api("DELETE", f"/api/v1/likes/pick/{pick.id}").get_json() == {"liked": False}
    assert client.api("PUT", "/api/v1/likes/pick/999999").status_code == 404


def test_threaded_comments_edit_and_removal(app, client):
    pick = PickFactory()
    alice, bob = UserFactory(display_name="Alice"), UserFactory(display_name="Bob")
    as_user(client, alice)
    client.post_form(
        "/comments", {"target_type": "pick", "target_id": pick.id, "body": "<b>Where</b> from?"}
    )
    (top,) = fresh(Comment)
    assert top.body == "Where from?"
    client.post_form("/logout")
    as_user(client, bob)
    client.post_form(
        "/comments",
        {"target_type": "pick", "target_id": pick.id, "body": "Porto!", "parent_id": top.id},
    )
    reply = fresh(Comment, body="Porto!")[0]
    # A reply to a reply joins the thread: one level deep.
    client.post_form(
        "/comments",
        {"target_type": "pick", "target_id": pick.id, "body": "Yes", "parent_id": reply.id},
    )
    assert fresh(Comment, body="Yes")[0].parent_id == top.id
    page = page_text(client.get(f"/picks/{pick.id}"))
    assert page.index("Where from?") < page.index("Porto!")
    # Bob cannot edit or remove Alice's comment.
    assert client.post_form(f"/comments/{top.id}/edit", {"body": "hacked"}).status_code == 404
    assert client.post_form(f"/comments/{top.id}/remove").status_code == 403
    assert client.api("PATCH", f"/api/v1/comments/{top.id}", json={"body": "x"}).status_code == 403
    client.post_form("/logout")
    as_user(client, alice)
    assert (
        client.post_form(f"/comments/{top.id}/edit", {"body": "Where is it from?"}).status_code
        == 302
    )
    assert "edited" in page_text(client.get(f"/picks/{pick.id}"))
    client.post_form("/logout")
    # The pick's author may remove any comment on it.
    as_user(client, pick.author)
    assert client.post_form(f"/comments/{reply.id}/remove").status_code == 302
    assert "Porto!" not in page_text(client.get(f"/picks/{pick.id}"))
    notified = {n.kind for n in fresh(Notification, recipient_id=pick.author_id)}
    assert "comment" in notified
    assert fresh(Notification, recipient_id=alice.id, kind="reply")
    db.session.expire_all()
    assert db.session.get(Pick, pick.id).comment_count == 2


def test_comment_rules(app, client):
    pick = PickFactory()
    as_user(client, UserFactory())
    empty = client.post_form(
        "/comments", {"target_type": "pick", "target_id": pick.id, "body": "<i></i>"}
    )
    assert empty.status_code == 422
    long = client.api("POST", f"/api/v1/picks/{pick.id}/comments", json={"body": "x" * 2001})
    assert long.status_code == 422 and "body" in long.get_json()["errors"]
    made = client.api(
        "POST", f"/api/v1/picks/{pick.id}/comments", json={"body": "<script>x</script>hi"}
    )
    assert made.status_code == 201 and made.get_json()["body"] == "hi"
    listed = client.get(f"/api/v1/picks/{pick.id}/comments").get_json()
    assert [c["body"] for c in listed["items"]] == ["hi"]
