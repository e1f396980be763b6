from __future__ import annotations

import io

import pytest
from PIL import Image

from app.accounts.models import User
from app.extensions import db
from tests.conftest import login
from tests.factories import UserFactory


def png_bytes(size=(300, 200), colour=(200, 30, 30), exif=None):
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    if exif is not None:
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def test_public_profile_page(client):
    UserFactory(handle="ana", display_name="Ana Duarte", bio="Ceramics <b>from</b> Porto")
    page = client.get("/@ana")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ana Duarte" in html and "@ana" in html
    assert "Ceramics &lt;b&gt;from&lt;/b&gt; Porto" in html  # escaped, never rendered as HTML
    assert client.get("/@nobody").status_code == 404


def test_edit_profile_with_avatar(app, client):
    user = UserFactory()
    login(client, user)
    response = client.post_form(
        "/account/",
        {
            "display_name": "New Name",
            "bio": "Hi",
            "locale": "fr",
            "avatar": (io.BytesIO(png_bytes()), "me.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.display_name, user.bio, user.locale) == ("New Name", "Hi", "fr")
    assert user.avatar_key and user.avatar_key.endswith(".webp")
    served = client.get(f"/media/{user.avatar_key}")
    assert served.status_code == 200
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "WEBP" and image.size == (256, 256)


def test_avatar_must_be_a_real_image(client):
    user = UserFactory()
    login(client, user)
    response = client.post_form(
        "/account/",
        {
            "display_name": "Changed",
            "bio": "",
            "avatar": (io.BytesIO(b"<?php echo 1; ?>"), "me.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not a JPEG, PNG or WebP image" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.display_name != "Changed" and user.avatar_key is None


def test_exif_location_is_stripped(app, client):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS info
    exif[0x010F] = "CameraMaker"
    user = UserFactory()
    login(client, user)
    client.post_form(
        "/account/",
        {"display_name": "", "bio": "", "avatar": (io.BytesIO(png_bytes(exif=exif)), "me.jpg")},
        content_type="multipart/form-data",
    )
    db.session.refresh(user)
    data = client.get(f"/media/{user.avatar_key}").data
    assert not Image.open(io.BytesIO(data)).getexif()
    assert b"CameraMaker" not in data


# Pillow warns before refusing; the refusal is what this checks.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_refused(client):
    # A tiny file that claims an enormous canvas.
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")
    user = UserFactory()
    login(client, user)
    response = client.post_form(
        "/account/",
        {"display_name": "", "bio": "", "avatar": (io.BytesIO(out.getvalue()), "bomb.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "too many pixels" in response.get_data(as_text=True)


def test_bio_too_long(client):
    user = UserFactory()
    login(client, user)
    response = client.post_form("/account/", {"display_name": "", "bio": "x" * 501})
    assert response.status_code == 422
    assert db.session.get(User, user.id).bio == ""


def test_a_line_break_from_a_text_area_counts_once(client):
    """Browsers send a text area's line breaks as CRLF; the page's maxlength counts each once,
    and so does the server, which keeps them as the API would (LF)."""
    user = UserFactory()
    login(client, user)
    bio = "\r\n".join(["x" * 98] * 5) + "\r\nx"  # 491 characters and 5 breaks: 496 with LF
    assert len(bio) > 500
    response = client.post_form("/account/", {"display_name": "Ana", "bio": bio})
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    stored = db.session.get(User, user.id).bio
    assert "\r" not in stored and len(stored) == 496 and stored.count("\n") == 5
