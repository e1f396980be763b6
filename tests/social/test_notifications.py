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
    assert "started following you" in listing and "liked your post" in listing
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
    }
    client.post_form("/logout")
    as_user(client, UserFactory())
    client.post_form(f"/people/{chloe.handle}/follow")
    assert not any("following you" in m["Subject"] for m in outbox())
