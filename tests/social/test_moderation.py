from __future__ import annotations

from app.extensions import db
from social.models import Pick, Report, Suspension
from tests.conftest import login
from tests.factories import (
    CollectionFactory,
    FollowFactory,
    PickFactory,
    ProductFactory,
    UserFactory,
)
from tests.marketplace.helpers import bearer, make_token
from tests.social.helpers import as_user, fresh, page_text


def test_report_and_hide_a_pick(app, client):
    pick = PickFactory(note="Buy my stuff at spam.example")
    fan = UserFactory()
    FollowFactory(follower=fan, followee=pick.author)
    admin = UserFactory(is_admin=True)
    as_user(client, fan)
    assert client.get(f"/report?target_type=pick&target_id={pick.id}").status_code == 200
    sent = client.post_form(
        "/report", {"target_type": "pick", "target_id": pick.id, "reason": "spam"}
    )
    assert sent.status_code == 302
    client.post_form("/report", {"target_type": "pick", "target_id": pick.id, "reason": "spam"})
    assert len(fresh(Report)) == 1  # twice adds nothing to the queue
    assert client.get("/admin/reports").status_code == 403
    client.post_form("/logout")
    as_user(client, admin)
    assert "spam.example" in page_text(client.get("/admin/reports"))
    assert (
        client.post_form("/admin/hide", {"target_type": "pick", "target_id": pick.id}).status_code
        == 302
    )
    assert fresh(Report)[0].resolution == "hidden"
    client.post_form("/logout")
    as_user(client, fan)
    assert client.get(f"/picks/{pick.id}").status_code == 404
    assert "spam.example" not in page_text(client.get("/feed"))
    assert "spam.example" not in page_text(client.get(f"/@{pick.author.handle}"))
    assert client.get(f"/api/v1/picks/{pick.id}").status_code == 404


def test_a_suspended_person_cannot_log_in_or_post_and_disappears(app, client):
    spammer = UserFactory(handle="spammer")
    product = ProductFactory(title="Spammed thing")
    pick = PickFactory(author=spammer, product=product, note="spam spam")
    admin = UserFactory(is_admin=True)
    token = make_token(client, spammer)
    spam_session = app.test_client()
    login(spam_session, spammer)
    as_user(client, admin)
    client.post_form("/report", {"target_type": "user", "target_id": spammer.id, "reason": "spam"})
    done = client.post_form("/admin/suspend", {"target_type": "user", "target_id": spammer.id})
    assert done.status_code == 302
    assert fresh(Suspension)[0].user_id == spammer.id
    assert client.get("/@spammer").status_code == 200  # moderators still see the profile
    client.post_form("/logout")
    # Gone from pages and lists for everyone else.
    assert client.get("/@spammer").status_code == 404
    assert client.get(f"/picks/{pick.id}").status_code == 404
    assert "spam spam" not in page_text(client.get(f"/products/{product.id}"))
    # Their open session ends, their token stops working, and they cannot log in again.
    kicked = spam_session.get("/feed")
    assert kicked.status_code == 302
    assert spam_session.get("/feed").status_code == 302  # now logged out: sent to log in
    api = app.test_client().post(
        "/api/v1/picks", json={"product_id": product.id}, headers=bearer(token)
    )
    assert api.status_code == 403
    again = login(app.test_client(), spammer)
    assert again.status_code == 403 and "suspended" in page_text(again)
    db.session.expire_all()
    assert db.session.get(Pick, pick.id) is not None  # kept, so a moderator can restore it


def test_only_moderators_moderate(app, client):
    pick = PickFactory()
    as_user(client, UserFactory())
    assert (
        client.post_form("/admin/hide", {"target_type": "pick", "target_id": pick.id}).status_code
        == 403
    )
    assert (
        client.post_form(
            "/admin/suspend", {"target_type": "pick", "target_id": pick.id}
        ).status_code
        == 403
    )
    report = client.api(
        "POST",
        "/api/v1/reports",
        json={"target_type": "pick", "target_id": pick.id, "reason": "abuse"},
    )
    assert report.status_code == 201
    bad = client.api(
        "POST",
        "/api/v1/reports",
        json={"target_type": "pick", "target_id": pick.id, "reason": "meh"},
    )
    assert bad.status_code == 422


def test_a_moderator_deletes_anyones_pick_or_collection_by_page_or_api(client):
    from social.models import Collection

    first, second = PickFactory(note="first"), PickFactory(note="second")
    shelf = CollectionFactory(is_public=True, title="Shelf")
    other_shelf = CollectionFactory(is_public=True, title="Other shelf")
    author = first.author.handle
    stranger = UserFactory()
    as_user(client, stranger)
    assert client.api("DELETE", f"/api/v1/picks/{first.id}").status_code == 403
    assert client.api("DELETE", f"/api/v1/collections/{shelf.id}").status_code == 403
    client.post_form("/logout")
    admin = UserFactory(is_admin=True)
    as_user(client, admin)
    page = client.post_form(f"/picks/{first.id}/delete", {"confirm": "y"})
    assert page.status_code == 302 and page.location.endswith(f"/@{author}")
    assert "The pick is deleted." in page_text(client.get(page.location))
    assert client.api("DELETE", f"/api/v1/picks/{second.id}").status_code == 204
    page = client.post_form(f"/collections/{shelf.id}/delete", {"confirm": "y"})
    assert page.status_code == 302
    assert client.api("DELETE", f"/api/v1/collections/{other_shelf.id}").status_code == 204
    db.session.expire_all()
    assert fresh(Pick) == [] and fresh(Collection) == []


def test_no_report_link_on_what_you_wrote_and_no_reporting_it(app, client):
    from social.models import Comment

    chloe = UserFactory()
    other = UserFactory()
    pick = PickFactory(author=chloe)
    collection = CollectionFactory(owner=chloe)
    theirs = PickFactory(author=other)
    as_user(client, other)
    client.post_form("/comments", {"target_type": "pick", "target_id": pick.id, "body": "Nice"})
    client.post_form("/logout")
    as_user(client, chloe)
    client.post_form("/comments", {"target_type": "pick", "target_id": pick.id, "body": "Thanks"})
    mine, their_comment = (
        next(c for c in fresh(Comment) if c.author_id == who.id) for who in (chloe, other)
    )
    own_pick = page_text(client.get(f"/picks/{pick.id}"))
    assert f"target_type=pick&amp;target_id={pick.id}" not in own_pick
    assert f"target_type=comment&amp;target_id={mine.id}" not in own_pick
    assert f"target_type=comment&amp;target_id={their_comment.id}" in own_pick
    own_collection = page_text(client.get(f"/collections/{collection.id}"))
    assert f"target_type=collection&amp;target_id={collection.id}" not in own_collection
    assert f"target_type=pick&amp;target_id={theirs.id}" in page_text(
        client.get(f"/picks/{theirs.id}")
    )
    # Reaching the report page anyway: a clear refusal, nothing queued.
    asked = client.get(f"/report?target_type=pick&target_id={pick.id}")
    assert asked.status_code == 403 and "not report it" in page_text(asked)
    for target_type, target_id in (
        ("pick", pick.id),
        ("collection", collection.id),
        ("comment", mine.id),
        ("user", chloe.id),
    ):
        sent = client.post_form(
            "/report", {"target_type": target_type, "target_id": target_id, "reason": "spam"}
        )
        assert sent.status_code == 422 and "not report it" in page_text(sent)
    client.post_form("/logout")
    token = make_token(client, chloe)
    refused = client.post(
        "/api/v1/reports",
        json={"target_type": "pick", "target_id": pick.id, "reason": "spam"},
        headers=bearer(token),
    )
    assert refused.status_code == 403 and "not report it" in refused.get_json()["title"]
    assert fresh(Report) == []
