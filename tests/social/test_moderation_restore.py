from __future__ import annotations

import io

from PIL import Image

from app.extensions import db
from social.models import Collection, Pick
from tests.conftest import login
from tests.factories import CollectionFactory, PickFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token


def png():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 60)).save(out, "PNG")
    return out.getvalue()


def test_moderators_can_bring_back_what_they_took_down(client):
    pick = PickFactory(note="Hidden by mistake")
    admin = UserFactory(is_admin=True)
    login(client, admin)
    client.post_form("/admin/hide", {"target_type": "pick", "target_id": pick.id})
    client.post_form(
        "/admin/suspend", {"target_type": "user", "target_id": pick.author_id, "reason": "spam"}
    )
    page = client.get("/admin/reports").get_data(as_text=True)
    assert "Hidden by mistake" in page and f"@{pick.author.handle}" in page
    client.post_form("/admin/unhide", {"target_type": "pick", "target_id": pick.id})
    client.post_form("/admin/unsuspend", {"target_type": "user", "target_id": pick.author_id})
    page = client.get("/admin/reports").get_data(as_text=True)
    assert "Nothing is hidden" in page and "No one is suspended" in page
    assert db.session.get(Pick, pick.id).hidden_at is None


def test_pick_photo_and_collection_cover_through_the_api(app, client):
    pick = PickFactory()
    collection = CollectionFactory(owner=pick.author)
    auth = bearer(make_token(client, pick.author))
    api = app.test_client()
    response = api.put(
        f"/api/v1/picks/{pick.id}/photo",
        data={"image": (io.BytesIO(png()), "p.png")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    assert db.session.get(Pick, pick.id).photo_key
    bad = api.put(
        f"/api/v1/picks/{pick.id}/photo",
        data={"image": (io.BytesIO(b"nope"), "p.png")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    cover = api.put(
        f"/api/v1/collections/{collection.id}/cover",
        data={"image": (io.BytesIO(png()), "c.png")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert cover.status_code == 200
    assert db.session.get(Collection, collection.id).cover_key
    assert api.delete(f"/api/v1/collections/{collection.id}/cover", headers=auth).status_code == 200
    other = bearer(make_token(app.test_client(), UserFactory()))
    assert api.put(
        f"/api/v1/picks/{pick.id}/photo",
        data={"image": (io.BytesIO(png()), "p.png")},
        headers=other,
        content_type="multipart/form-data",
    ).status_code in (403, 404)
