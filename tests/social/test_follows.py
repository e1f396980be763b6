from __future__ import annotations

from app.extensions import db
from social import follows, moderation
from social.models import Follow, Notification
from tests.factories import FollowFactory, PickFactory, UserFactory
from tests.marketplace.helpers import count_queries
from tests.social.helpers import as_user, fresh, page_text


def test_follow_and_unfollow_from_the_profile(app, client, outbox):
    me, chloe = UserFactory(), UserFactory(handle="chloe", display_name="Chloé")
    as_user(client, me)
    page = page_text(client.get("/@chloe"))
    assert "0 followers" in page and 'action="/people/chloe/follow"' in page
    response = client.post_form("/people/chloe/follow", {"next": "/@chloe"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/@chloe")
    assert [(f.follower_id, f.followee_id) for f in fresh(Follow)] == [(me.id, chloe.id)]
    assert "1 follower" in page_text(client.get("/@chloe"))
    # Following twice is harmless: still one row, one notification.
    client.post_form("/people/chloe/follow")
    assert len(fresh(Follow)) == 1
    assert len(fresh(Notification, recipient_id=chloe.id, kind="follow")) == 1
    assert any("is following you" in m["Subject"] for m in outbox())
    client.post_form("/people/chloe/follow", {"undo": "1"})
    assert fresh(Follow) == []


def test_nobody_follows_themself(app, client):
    me = UserFactory(handle="myself")
    as_user(client, me)
    assert client.post_form("/people/myself/follow").status_code == 422
    response = client.api("PUT", "/api/v1/people/myself/follow")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert fresh(Follow) == []


def test_followers_and_following_lists(app, client):
    chloe = UserFactory(handle="chloe")
    fans = [UserFactory(display_name=f"Fan {n}") for n in range(3)]
    for fan in fans:
        FollowFactory(follower=fan, followee=chloe)
    page = page_text(client.get("/@chloe/followers"))
    assert all(f"Fan {n}" in page for n in range(3))
    assert "chloe" in page_text(client.get(f"/@{fans[0].handle}/following")).lower()
    data = client.get("/api/v1/people/chloe/followers").get_json()
    assert {p["handle"] for p in data["items"]} == {f.handle for f in fans}
    assert follows.counts(chloe.id) == (3, 0)


def test_suggestions_are_friends_of_friends_then_active_curators(app):
    me, friend, theirs, curator, followed = (UserFactory() for _ in range(5))
    FollowFactory(follower=me, followee=friend)
    FollowFactory(follower=me, followee=followed)
    FollowFactory(follower=friend, followee=theirs)
    FollowFactory(follower=friend, followee=followed)
    PickFactory(author=curator)
    suggested = [u.id for u in follows.suggestions(me)]
    assert suggested[0] == theirs.id
    assert curator.id in suggested
    assert me.id not in suggested and followed.id not in suggested and friend.id not in suggested


def test_the_feeds_suggestions_are_kept_until_something_public_changes(app, client):
    me, friend, theirs = UserFactory(), UserFactory(), UserFactory(display_name="Theo Kept")
    FollowFactory(follower=me, followee=friend)
    FollowFactory(follower=friend, followee=theirs)
    as_user(client, me)
    client.get("/feed")  # shows "welcome back": the suggestions are worked out
    with count_queries() as seen:
        page = page_text(client.get("/feed"))
    assert "Theo Kept" in page
    assert not any("second" in statement for statement in seen), seen  # friends of friends
    # Following them is a public change: they are no longer suggested, at once.
    client.post_form(f"/people/{theirs.handle}/follow")
    side = page_text(client.get("/feed")).split("People to follow", 1)[1]
    assert "Theo Kept" not in side
    # A suspension (a moderator's change) takes them out of everyone's suggestions too.
    newcomer = UserFactory(display_name="Nora Suspended")
    FollowFactory(follower=friend, followee=newcomer)
    assert "Nora Suspended" in page_text(client.get("/feed"))
    moderation.suspend(UserFactory(is_admin=True), newcomer, "spam")
    db.session.commit()
    assert "Nora Suspended" not in page_text(client.get("/feed"))
