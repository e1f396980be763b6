from __future__ import annotations

from tests.factories import PickFactory, UserFactory
from tests.social.helpers import as_user, page_text


def test_unread_count_in_the_navigation_and_mark_read(app, client, outbox):
    chloe = UserFactory(display_name="Chloé")
    fan = UserFactory(display_name="Fan")
    pick = PickFactory(author=chloe)
    as_user(client, fan)
    client.post_form(f"/people/{chloe.handle}/follow")
    client.post_form(f"/like/pick/{pick.id}")
    client.post_form("/logout")
    as_user(client, chloe)
    home = page_text(client.get("/"))
    assert 'aria-label="2 unread"' in home
    listing = page_text(client.get("/notifications"))
    assert "started following you" in listing and "liked your pick of" in listing
    api = client.get("/api/v1/notifications").get_json()
    assert api["unread"] == 2 and {n["kind"] for n in api["items"]} == {"follow", "like"}
    client.post_form("/notifications/read")
    assert "unread" not in page_text(client.get("/")).split("<main")[0]
    assert client.get("/api/v1/notifications").get_json()["unread"] == 0


def test_email_follows_the_settings(app, client, outbox):
    chloe = UserFactory()
    as_user(client, chloe)
    assert client.get("/account/social").status_code == 200
    client.post_form("/account/social", {"email_reactions": "y", "email_sales": "y"})
    settings = client.get("/api/v1/me/social-settings").get_json()
    assert settings == {
        "share_purchases": False,
        "email_follows": False,
        "email_reactions": True,
        "email_sales": True,
        "email_saved": False,
        "email_messages": False,
    }
    client.post_form("/logout")
    as_user(client, UserFactory())
    client.post_form(f"/people/{chloe.handle}/follow")
    assert not any("following you" in m["Subject"] for m in outbox())


def test_a_like_says_what_was_liked_and_links_to_it(app, client, outbox):
    from app.extensions import db
    from social.models import Notification, NotificationKind, Target
    from tests.factories import CollectionFactory, ProductFactory

    chloe = UserFactory(display_name="Chloé")
    pick = PickFactory(author=chloe, product=ProductFactory(title="Linen apron"))
    collection = CollectionFactory(owner=chloe, title="Slow kitchen")
    # Stored before the page said which: a like of a pick since deleted still reads sensibly.
    db.session.add(
        Notification(
            recipient_id=chloe.id,
            kind=NotificationKind.LIKE,
            actor_id=UserFactory(display_name="Early fan").id,
            target_type=Target.PICK,
            target_id=pick.id + 1000,
        )
    )
    db.session.commit()
    as_user(client, UserFactory(display_name="Fan"))
    client.post_form(f"/like/pick/{pick.id}")
    client.post_form(f"/like/collection/{collection.id}")
    client.post_form("/logout")
    as_user(client, chloe)
    listing = page_text(client.get("/notifications"))
    assert f'<a href="/picks/{pick.id}">liked your pick of “Linen apron”</a>' in " ".join(
        listing.split()
    ).replace("> ", ">").replace(" <", "<")
    assert f'<a href="/collections/{collection.id}">' in listing
    assert "liked your collection “Slow kitchen”" in listing
    assert "liked your post" in listing  # the old row whose pick is gone
    subjects = [m["Subject"] for m in outbox() if m["To"] == chloe.email]
    assert "Fan liked your pick of “Linen apron”" in subjects
    assert "Fan liked your collection “Slow kitchen”" in subjects
